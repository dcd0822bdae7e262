"""Go-live import of open contracts with what was billed and recognised before the cut-over, and of approved but
unbilled time and expenses: the contract position at the cut-over equals the imported one, recognition carries on
from it, and the next billing run bills the imported time once."""

from datetime import date
from decimal import Decimal

import pytest

from billing.models import ScheduleEvent
from billing.selectors.golive import golive_reconciliation
from billing.services.golive import golive_rollback
from ledger.choices import SystemAccount
from ledger.models import JournalEntry, RevenueSchedule
from ledger.selectors.project_cost import cost_groups
from ledger.services.contract_position import contract_positions
from ledger.services.revenue import recognition_run
from projects.models import Contract, ContractLineOpening, Expense, Project, Task, TimeEntry
from tests.billing.factories import make_contract
from tests.billing.open_items_factories import CUTOVER, errors, make_golive, opening_balance, run
from tests.ledger.revenue_factories import approved_time, consultant, invoice, period, revenue, zero_tax_account

pytestmark = pytest.mark.django_db
D = Decimal

CONTRACTS = [
    {"contract": "FF-1", "customer": "C-1", "project": "P-FF", "start_date": "2026-01-01", "end_date": "2026-12-31",
     "description": "Fixed-fee build", "billing_model": "fixed_fee", "price": "10000.00", "hours": "100",
     "billed": "6000.00", "recognised": "5000.00", "hours_to_date": "50"},
    {"contract": "TM-1", "customer": "C-1", "project": "P-TM", "start_date": "2026-01-01", "end_date": "2026-12-31",
     "description": "Support", "billing_model": "tm", "rate": "100", "billed": "2000.00", "recognised": "2500.00"},
]  # fmt: skip


@pytest.fixture
def moved_in(periods, finance):
    """A go-live at 1 April 2026 with a half-delivered fixed-fee contract (deferred revenue 1,000) and a T&M
    contract with 500 of unbilled work, and the opening balances of both control accounts."""
    zero_tax_account(name="Client One", external_id="C-1")
    golive = make_golive(finance)
    report = run(golive, "contracts", CONTRACTS, finance, dry_run=False)
    assert report.errors == 0, report.rows
    opening_balance(golive, SystemAccount.DEFERRED, "1000.00", credit=True)
    opening_balance(golive, SystemAccount.UNBILLED, "500.00", credit=False)
    return golive


def test_the_dry_run_names_every_bad_contract_row_and_writes_nothing(periods, finance):
    zero_tax_account(name="Client One", external_id="C-1")
    Contract.objects.filter(pk=make_contract().pk).update(number="OLD-9")
    golive = make_golive(finance)
    base = CONTRACTS[0]
    rows = [
        {**base, "contract": "A", "project": "PA", "customer": "Nobody"},  # 2
        {**base, "contract": "B", "project": "PB", "end_date": "2026-03-31"},  # 3: ended before the cut-over
        {**base, "contract": "C", "project": "PC", "billed": "12000.00"},  # 4: billed beyond the price
        {**base, "contract": "D", "project": "PD"},  # 5
        {**base, "contract": "D", "project": "PD", "currency": "GBP", "line": "2"},  # 6: disagrees with row 5
        {**base, "contract": "E", "project": "PE", "billing_model": "barter"},  # 7
        {**base, "contract": "OLD-9", "project": "PF"},  # 8: PSA has that contract
        {**CONTRACTS[1], "contract": "G", "project": "PG", "rate": ""},  # 9: T&M without a rate
        {**base, "contract": "H", "project": "PH", "method": "milestone"},  # 10: does not fit fixed fee
    ]
    report = run(golive, "contracts", rows, finance, dry_run=True)
    found = {n: rule for n, (rule, _) in errors(report).items()}
    assert found == {
        2: "unknown_customer",
        3: "not_open",
        4: "over_price",
        5: "contract_rows_disagree",  # a contract is imported whole
        6: "contract_rows_disagree",
        7: "billing_model",
        8: "contract_exists",
        9: "price",
        10: "method",
    }
    assert not Project.objects.filter(code__in=["PA", "PB", "PC", "PD", "PE", "PF", "PG", "PH"]).exists()
    assert not ContractLineOpening.objects.exists() and not JournalEntry.objects.exists()


def test_the_contract_position_at_the_cutover_equals_the_imported_balances(moved_in):
    ff = Project.objects.get(code="P-FF")
    tm = Project.objects.get(code="P-TM")
    positions = contract_positions(project_ids=[ff.pk, tm.pk], on=CUTOVER)
    assert (positions[ff.pk].unbilled, positions[ff.pk].deferred) == (D("0"), D("1000.00"))
    assert (positions[tm.pk].unbilled, positions[tm.pk].deferred) == (D("500.00"), D("0"))
    schedules = {s.project_id: s.recognised for s in RevenueSchedule.objects.all()}
    assert schedules == {ff.pk: D("5000.00"), tm.pk: D("2500.00")}
    # Billing schedules only what the previous system had not billed, from the cut-over on.
    events = ScheduleEvent.objects.filter(contract_line__contract__project=ff)
    assert sum(e.amount for e in events) == D("4000.00")
    assert min(e.period_end for e in events) >= CUTOVER
    checks = {c.name: c for c in golive_reconciliation(moved_in) if c.group == "Contract positions"}
    assert all(c.ok for c in checks.values()), [(c.name, c.rows) for c in checks.values()]


def test_the_reconciliation_lists_what_causes_a_contract_position_difference(periods, finance):
    zero_tax_account(name="Client One", external_id="C-1")
    golive = make_golive(finance)
    run(golive, "contracts", CONTRACTS, finance, dry_run=False)
    opening_balance(golive, SystemAccount.DEFERRED, "1200.00", credit=True)  # 200 more than the contracts explain
    deferred = next(c for c in golive_reconciliation(golive) if c.name.startswith("Deferred revenue"))
    assert not deferred.ok and deferred.difference == D("200.00")
    assert any("without a project" in row and "200.00" in row for row in deferred.rows)


def test_recognition_after_the_import_carries_on_from_the_imported_position(moved_in, finance):
    ff = Project.objects.get(code="P-FF")
    line = ff.contracts.get().lines.get()
    recognition_run(period_id=period(date(2026, 4, 1)).pk, by=finance)
    assert revenue(ff) == D("0")  # nothing delivered since the cut-over: nothing to recognise again
    # Half of the 50 hours left are delivered in April: half of the 5,000.00 still to recognise.
    approved_time(ff, line, date(2026, 4, 15), "20", billable=False)
    approved_time(ff, line, date(2026, 4, 16), "5", billable=False)
    recognition_run(period_id=period(date(2026, 4, 1)).pk, by=finance)
    assert revenue(ff) == D("2500.00")
    position = contract_positions(project_ids=[ff.pk], on=date(2026, 4, 30))[ff.pk]
    assert (position.deferred, position.unbilled) == (D("0"), D("1500.00"))  # the deferral released first


def test_the_next_billing_run_bills_the_imported_unbilled_time_once(moved_in, finance):
    tm = Project.objects.get(code="P-TM")
    ada = consultant()
    rows = [{"consultant": ada.user.username, "project": "P-TM", "date": "2026-03-20", "hours": "5", "rate": "100"}]
    report = run(moved_in, "unbilled_time", rows, finance, dry_run=False)
    assert report.errors == 0, report.rows
    entry = TimeEntry.objects.get(project=tm)
    assert (entry.status, entry.billable, entry.opening, entry.bill_rate) == ("approved", True, True, D("100"))
    contract = Contract.objects.get(project=tm)
    first = invoice(contract, date(2026, 4, 30), date(2026, 4, 30), finance)
    assert first.net_total == D("500.00")
    assert invoice(contract, date(2026, 5, 31), date(2026, 5, 31), finance) is None  # billed once
    # The invoice relieves the unbilled receivable the import brought; recognition adds nothing for that time.
    recognition_run(period_id=period(date(2026, 4, 1)).pk, by=finance)
    assert revenue(tm) == D("0")
    assert contract_positions(project_ids=[tm.pk], on=date(2026, 4, 30))[tm.pk].unbilled == D("0")
    # Its cost is in the previous system's books: the labour cost run leaves it out.
    assert cost_groups(through=date(2026, 4, 30), project_ids=[tm.pk]) == []


def test_the_time_dry_run_names_every_bad_row_and_writes_nothing(moved_in, finance):
    ada = consultant()
    Task.objects.create(project=Project.objects.get(code="P-TM"), name="Design")
    base = {"consultant": ada.user.username, "project": "P-TM", "date": "2026-03-20", "hours": "5", "rate": "100"}
    rows = [
        {**base, "consultant": "ghost"},  # 2
        {**base, "project": "P-NONE"},  # 3
        {**base, "date": "2026-04-02"},  # 4: after the cut-over
        {**base},  # 5: good
        {**base},  # 6: the same cell again
        {**base, "project": "P-FF"},  # 7: no T&M line
        {**base, "date": "2026-03-21", "hours": "20"},  # 8: good
        {**base, "date": "2026-03-21", "hours": "10", "task": "Design"},  # 9: 30 h that day
        {**base, "date": "2026-03-22", "rate": "0"},  # 10
    ]
    report = run(moved_in, "unbilled_time", rows, finance, dry_run=True)
    found = {n: rule for n, (rule, _) in errors(report).items()}
    assert found == {
        2: "unknown_consultant",
        3: "unknown_project",
        4: "on_or_after_cutover",
        6: "duplicate_in_file",
        7: "no_tm_line",
        9: "over_24h",
        10: "rate",
    }
    assert not TimeEntry.objects.exists()
    assert run(moved_in, "unbilled_time", rows, finance, dry_run=False).errors == 7  # all or nothing
    assert not TimeEntry.objects.exists()


def test_unbilled_expenses_are_imported_approved_and_billable(moved_in, finance):
    ada = consultant()
    rows = [
        {"consultant": ada.user.username, "project": "P-TM", "date": "2026-03-10", "category": "travel",
         "amount": "120.00", "currency": "EUR", "rebill_amount": "132.00"},
        {"consultant": ada.user.username, "project": "P-TM", "date": "2026-03-11", "category": "yacht",
         "amount": "10.00", "currency": "EUR"},
    ]  # fmt: skip
    assert {
        n: rule for n, (rule, _) in errors(run(moved_in, "unbilled_expenses", rows, finance, dry_run=True)).items()
    } == {3: "category"}
    report = run(moved_in, "unbilled_expenses", rows[:1], finance, dry_run=False)
    assert report.created == 1
    expense = Expense.objects.get()
    assert (expense.status, expense.opening, expense.rebill_amount) == ("approved", True, D("132.00"))
    contract = Contract.objects.get(project__code="P-TM")
    assert invoice(contract, date(2026, 4, 30), date(2026, 4, 30), finance).net_total == D("132.00")


def test_rollback_removes_the_imported_contracts_and_reverses_their_position_entry(moved_in, finance):
    golive_rollback(golive=moved_in, user=finance)
    assert not Contract.objects.filter(number__in=["FF-1", "TM-1"]).exists()
    assert not ContractLineOpening.objects.exists() and not RevenueSchedule.objects.exists()
    assert not ScheduleEvent.objects.exists()
    # The reversed entry still names the projects: they stay, cancelled, their codes free for a new go-live.
    assert not Project.objects.filter(code__in=["P-FF", "P-TM"]).exists()
    assert set(Project.objects.values_list("status", flat=True)) == {"cancelled"}
    entry = JournalEntry.objects.get(source=f"golive:{moved_in.pk}:contract-positions")
    assert JournalEntry.objects.filter(reverses=entry).exists()


def test_a_retainer_plans_and_bills_only_the_months_left_after_the_cutover(periods, finance):
    zero_tax_account(name="Client One", external_id="C-1")
    golive = make_golive(finance)
    row = {"contract": "R-1", "customer": "C-1", "project": "P-R", "start_date": "2026-01-01",
           "end_date": "2026-12-31", "description": "Retainer", "billing_model": "retainer", "price": "12000.00",
           "billed": "3000.00", "recognised": "3000.00"}  # fmt: skip
    assert run(golive, "contracts", [row], finance, dry_run=False).errors == 0
    project = Project.objects.get(code="P-R")
    plan = RevenueSchedule.objects.get(project=project).plan.all()
    assert plan[0].month == CUTOVER and sum(p.amount for p in plan) == D("9000.00") and len(plan) == 9
    recognition_run(period_id=period(date(2026, 4, 1)).pk, by=finance)
    assert revenue(project) == D("1000.00")  # one of the nine months left, not a catch-up of the first three
    first = invoice(Contract.objects.get(project=project), date(2026, 4, 30), date(2026, 4, 30), finance)
    assert first.net_total == D("1000.00")


def test_a_capped_line_counts_what_was_billed_before_the_cutover(periods, finance):
    zero_tax_account(name="Client One", external_id="C-1")
    golive = make_golive(finance)
    row = {**CONTRACTS[1], "cap": "3000.00", "billed": "2000.00", "recognised": "3000.00"}
    assert run(golive, "contracts", [row], finance, dry_run=False).errors == 0
    ada = consultant()
    time = [{"consultant": ada.user.username, "project": "P-TM", "date": "2026-03-20", "hours": "15", "rate": "100"}]
    assert run(golive, "unbilled_time", time, finance, dry_run=False).errors == 0
    bill = invoice(Contract.objects.get(project__code="P-TM"), date(2026, 4, 30), date(2026, 4, 30), finance)
    assert bill.net_total == D("1000.00")  # 3,000 cap - 2,000 billed before; the other 500 is written down
