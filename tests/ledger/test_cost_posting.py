"""The month-end labour cost run: amounts per project to the cent, one entry per project and month, nothing twice,
corrections (rejected back, cost rate corrected) as differences, closed months caught up, foreign cost currencies,
subcontractors to the accrual, expenses, concurrent runs, the command and the checklist line."""

import threading
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from ledger.choices import CostRunStatus, SystemAccount
from ledger.models import CostPostingRun, JournalLine
from ledger.selectors.close import close_checklist
from ledger.selectors.project_cost import project_cost_to_date
from ledger.services.cost_posting import cost_posting_execute, cost_posting_run, cost_posting_start
from ledger.tasks import cost_posting_task
from projects.models import Expense
from projects.services.staffing import cost_rate_set, time_cost_rate_correct
from psa.core.rates import exchange_rate_set
from tests.billing.factories import make_contract, make_line
from tests.ledger.cost_factories import cost_entries, cost_gl, person, project_cost, vendor
from tests.ledger.intercompany_factories import three_entities
from tests.ledger.revenue_factories import D, approved_expense, approved_time, books, close, period, zero_tax_account

pytestmark = pytest.mark.django_db

COS, LABOUR = SystemAccount.COST_OF_SERVICES, SystemAccount.LABOUR_ABSORBED
ACCRUAL, CLAIMS, REBILL = (
    SystemAccount.SUBCONTRACT_ACCRUAL,
    SystemAccount.EXPENSE_CLAIMS,
    SystemAccount.REBILLABLE_COSTS,
)
JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)


@pytest.fixture
def finance(make_user):
    books()
    return make_user("finance")


def _project():
    contract = make_contract(zero_tax_account())
    return contract.project, make_line(contract, "tm", price="0.00")


def _expense(project, on: date, amount: str, *, billable: bool = False, currency: str = "EUR") -> Expense:
    return Expense.objects.create(
        consultant=person(),
        project=project,
        date=on,
        category="travel",
        amount=D(amount),
        currency=currency,
        billable=billable,
        status="approved",
        approved_at=timezone.now(),
    )


def test_the_run_posts_each_projects_cost_to_the_cent_in_one_entry(finance):
    a, line_a = _project()
    b, line_b = _project()
    sub = person(supplier=vendor(rate="50.00"))
    approved_time(a, line_a, date(2026, 1, 5), "7.50", cost="60.3330")  # 452.4975 -> 452.50
    approved_time(a, line_a, date(2026, 1, 6), "3.25", cost="61", billable=False)  # 198.25, non-billable too
    approved_time(a, line_a, date(2026, 1, 7), "8.00", cost="50", who=sub)  # 400.00 to the accrual
    _expense(a, date(2026, 1, 8), "80.00")  # a plain expense: cost of services
    approved_expense(a, line_a, date(2026, 1, 9), "120.00")  # re-billed: re-billable costs
    approved_time(b, line_b, date(2026, 1, 12), "1.00", cost="99.995")  # 99.995 -> 100.00 (per entry)
    approved_time(a, line_a, date(2026, 2, 2), "2.00", cost="60")  # February: not in January's run

    run = cost_posting_run(period_id=period(JAN).pk, by=finance)

    assert run.status == CostRunStatus.DONE, run.errors
    assert (run.projects, run.entries, run.total, run.processed) == (2, 2, 2, 2)
    assert run.amount == D("1350.75")  # 452.50 + 198.25 + 400 + 80 + 120 + 100
    assert cost_gl(a) == D("1130.75") and cost_gl(a, REBILL) == D("120.00")
    assert cost_gl(a, LABOUR) == D("-650.75")
    assert cost_gl(a, ACCRUAL) == D("-400.00")
    assert cost_gl(a, CLAIMS) == D("-200.00")
    assert cost_gl(b) == D("100.00")
    [entry] = cost_entries(a)
    assert entry.source == f"labour-cost:2026-01:{a.pk}" and entry.date == date(2026, 1, 31)
    assert entry.entity_id == a.entity_id
    lines = JournalLine.objects.filter(entry=entry)
    # every line carries the project but labour absorbed, a firm-wide account (else the P&L by project nets the
    # project's labour cost away)
    assert {(ln.project_id, ln.client_id) for ln in lines.exclude(account__system_role=LABOUR)} == {
        (a.pk, a.account_id)
    }
    assert {(ln.project_id, ln.client_id) for ln in lines.filter(account__system_role=LABOUR)} == {(None, None)}
    assert project_cost(a) == D("1250.75")


def test_running_twice_posts_nothing_the_second_time(finance):
    project, line = _project()
    approved_time(project, line, date(2026, 1, 5), "4.00", cost="55")
    first = cost_posting_run(period_id=period(JAN).pk, by=finance)
    second = cost_posting_run(period_id=period(JAN).pk, by=finance)
    assert first.status == CostRunStatus.DONE and first.amount == D("220.00")
    assert second.status == CostRunStatus.UNCHANGED and (second.entries, second.total) == (0, 0)
    assert cost_entries().count() == 1 and cost_gl(project) == D("220.00")


def test_an_entry_rejected_back_is_taken_out_by_the_next_run(finance):
    project, line = _project()
    keep = approved_time(project, line, date(2026, 1, 5), "4.00", cost="55")
    gone = approved_time(project, line, date(2026, 1, 6), "2.00", cost="55")
    cost_posting_run(period_id=period(JAN).pk, by=finance)
    assert cost_gl(project) == D("330.00")

    type(gone).objects.filter(pk=gone.pk).update(status="rejected")  # status leaves approved
    run = cost_posting_run(period_id=period(JAN).pk, by=finance)

    assert run.amount == D("-110.00") and run.entries == 1
    assert cost_gl(project) == D("220.00") and cost_gl(project, LABOUR) == D("-220.00")
    first, correction = cost_entries(project)
    assert (
        correction.source == first.source
        and "correction 1" in correction.memo
        and correction.memo.endswith(f"(run #{run.pk})")
    )
    assert correction.idempotency_key == f"{first.source}:2"
    assert keep.pk  # still approved, still costed


def test_a_corrected_cost_rate_is_posted_as_the_difference(finance, make_user):
    project, line = _project()
    who = person()
    cost_rate_set(by=make_user("admin"), consultant_id=who.pk, rate="50", valid_from=date(2025, 1, 1))
    approved_time(project, line, date(2026, 1, 5), "10.00", cost="50", who=who)
    cost_posting_run(period_id=period(JAN).pk, by=finance)
    assert cost_gl(project) == D("500.00")

    cost_rate_set(by=make_user("admin"), consultant_id=who.pk, rate="58", valid_from=date(2026, 1, 1))
    changed = time_cost_rate_correct(by=make_user("admin"), consultant_id=who.pk, from_date=date(2026, 1, 1))
    run = cost_posting_run(period_id=period(JAN).pk, by=finance)

    assert changed == 1
    assert run.amount == D("80.00") and cost_gl(project) == D("580.00")


def test_a_change_to_a_closed_month_is_corrected_in_the_first_open_month(finance):
    project, line = _project()
    late = approved_time(project, line, date(2026, 1, 20), "3.00", cost="40")
    approved_time(project, line, date(2026, 1, 21), "5.00", cost="40")
    cost_posting_run(period_id=period(JAN).pk, by=finance)
    close(JAN, finance)

    type(late).objects.filter(pk=late.pk).update(status="rejected")
    run = cost_posting_run(period_id=period(FEB).pk, by=finance)

    assert run.status == CostRunStatus.DONE and run.amount == D("-120.00")
    correction = cost_entries(project).last()
    assert correction.source == f"labour-cost:2026-01:{project.pk}"  # the work month
    assert correction.date == date(2026, 2, 1) and correction.requested_date == date(2026, 1, 31)
    assert cost_gl(project) == D("200.00")


def test_a_foreign_cost_currency_converts_at_the_month_end_rate_and_a_missing_rate_refuses_that_project(finance):
    usd, usd_line = _project()
    gbp, gbp_line = _project()
    home, home_line = _project()
    exchange_rate_set(currency="USD", on=date(2026, 1, 30), rate="0.9", by=None)
    approved_time(usd, usd_line, date(2026, 1, 5), "10.00", cost="45.55", who=person(currency="USD"))
    approved_time(gbp, gbp_line, date(2026, 1, 5), "10.00", cost="40", who=person(currency="GBP"))
    approved_time(home, home_line, date(2026, 1, 5), "1.00", cost="70")

    run = cost_posting_run(period_id=period(JAN).pk, by=finance)

    assert run.status == CostRunStatus.DONE_WITH_ERRORS
    [error] = run.errors
    assert error["project"] == gbp.code and "GBP" in error["error"] and "2026-01-31" in error["error"]
    assert cost_gl(usd) == D("409.95")  # 455.50 USD x 0.9
    cos = JournalLine.objects.get(project=usd, account__system_role=COS)
    assert (cos.currency, cos.amount_currency, cos.rate) == ("USD", D("455.50"), D("0.9"))
    assert cost_gl(home) == D("70.00") and cost_gl(gbp) == D("0")

    exchange_rate_set(currency="GBP", on=date(2026, 1, 31), rate="1.2", by=None)
    exchange_rate_set(currency="USD", on=date(2026, 1, 31), rate="0.95", by=None)  # a later rate re-posts nothing
    again = cost_posting_run(period_id=period(JAN).pk, by=finance)
    assert again.status == CostRunStatus.DONE and again.entries == 1
    assert cost_gl(gbp) == D("480.00") and cost_gl(usd) == D("409.95")


def test_subcontractor_time_in_the_vendors_currency_goes_to_the_accrual(finance):
    project, line = _project()
    exchange_rate_set(currency="GBP", on=date(2026, 1, 31), rate="1.15", by=None)
    sub = person(supplier=vendor(currency="GBP", rate="80"))
    approved_time(project, line, date(2026, 1, 5), "6.00", cost="80", who=sub)
    cost_posting_run(period_id=period(JAN).pk, by=finance)
    accrual = JournalLine.objects.get(project=project, account__system_role=ACCRUAL)
    assert (accrual.credit, accrual.currency, accrual.amount_currency) == (D("552.00"), "GBP", D("480.00"))
    assert cost_gl(project, LABOUR) == D("0")


def test_cost_to_date_is_what_the_run_posts(finance):
    project, line = _project()
    approved_time(project, line, date(2026, 1, 5), "3.00", cost="33.333")
    approved_time(project, line, date(2026, 2, 5), "2.00", cost="10", who=person(supplier=vendor()))
    _expense(project, date(2026, 2, 6), "12.34")
    cost_posting_run(period_id=period(FEB).pk, by=finance)
    assert cost_entries(project).count() == 2  # one per work month
    cost = project_cost_to_date([project.pk], as_of=date(2026, 2, 28))[project.pk].cost
    assert cost == project_cost(project) == D("132.34")


def test_one_entity_only(finance):
    firm = three_entities()
    project, line = _project()
    approved_time(project, line, date(2026, 1, 5), "1.00", cost="10")
    run = cost_posting_run(period_id=period(JAN).pk, entity_id=firm.uk.pk, by=finance)
    assert run.status == CostRunStatus.UNCHANGED and cost_entries().count() == 0
    run = cost_posting_run(period_id=period(JAN).pk, entity_id=project.entity_id, by=finance)
    assert run.entries == 1


def test_the_job_executes_the_run_and_a_finished_run_is_left_alone(finance):
    project, line = _project()
    approved_time(project, line, date(2026, 1, 5), "1.00", cost="10")
    run = cost_posting_start(period_id=period(JAN).pk, by=finance, enqueue=False)
    cost_posting_task(run_id=run.pk)
    cost_posting_task(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == CostRunStatus.DONE and cost_entries().count() == 1


def test_the_checklist_shows_labour_cost_red_until_posted(finance):
    project, line = _project()
    approved_time(project, line, date(2026, 1, 5), "2.00", cost="30")

    def row():
        return next(r for r in close_checklist(period(JAN), extra_checks=()) if r.key == "labour_cost")

    assert not row().done and row().result.count == 1 and "1 project" in row().result.detail
    cost_posting_run(period_id=period(JAN).pk, by=finance)
    assert row().done
    approved_time(project, line, date(2026, 1, 6), "1.00", cost="30")
    assert not row().done


def test_the_command_posts_and_names_refusals(finance):
    project, line = _project()
    approved_time(project, line, date(2026, 1, 5), "2.00", cost="30")
    out = StringIO()
    call_command("post_costs", "--month", "2026-01", stdout=out, stderr=StringIO())
    assert "1 projects, 1 entries, 60.00 posted" in out.getvalue()
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("post_costs", "--month", "January")
    with pytest.raises(CommandError, match="No legal entity"):
        call_command("post_costs", "--month", "2026-01", "--entity", "XX")
    with pytest.raises(CommandError, match="No accounting period"):
        call_command("post_costs", "--month", "2031-01")


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_post_the_cost_once(make_user):
    books()
    finance = make_user("finance")
    project, line = _project()
    for day in (5, 6, 7):
        approved_time(project, line, date(2026, 1, day), "8.00", cost="50")
    runs = [cost_posting_start(period_id=period(JAN).pk, by=finance, enqueue=False) for _ in range(2)]
    runs[1] = CostPostingRun.objects.create(period=runs[0].period, created_by=finance)  # a second, separate run
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(run_id: int) -> None:
        barrier.wait()
        try:
            cost_posting_execute(run_id=run_id)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(run.pk,)) for run in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    statuses = sorted(CostPostingRun.objects.values_list("status", flat=True))
    assert statuses == [CostRunStatus.DONE, CostRunStatus.UNCHANGED]
    assert cost_entries().count() == 1 and cost_gl(project) == D("1200.00")
