"""Go-live: the chart mapping, historical periods, the opening trial balance, balance history and open
receivables; dry runs that name every bad row and its rule and write nothing; all-or-nothing applies; the
reconciliation; completion, rollback, and what is refused before the cut-over afterwards."""

from datetime import date
from decimal import Decimal

import pytest

from billing.choices import GoLiveStatus, InvoiceStatus
from billing.models import GoLive, GoLiveBalance, GoLiveImport, GoLiveObject, Invoice
from billing.selectors import ar_aging
from billing.selectors.golive import golive_reconciliation
from billing.services import credit_note_create, dunning_send, invoice_issue, payment_record
from billing.services.golive import (
    golive_complete,
    golive_create,
    golive_rollback,
)
from ledger.models import AccountingPeriod, HistoricalBalance, JournalEntry, LedgerAccount, PeriodClose
from ledger.selectors.books import pnl, trial_balance
from ledger.services import EntrySpec, LineSpec, entry_post
from psa.core.entities import entity_default
from psa.core.exceptions import ConflictError, PermissionDeniedError, ValidationFailed
from tests.billing.factories import issued_invoice, make_account
from tests.billing.golive_fixtures import (
    CUTOVER,
    ar_code,
    chart_file,
    csv,
    errors,
    opening_file,
    receivables_file,
    run,
    xlsx,
)

pytestmark = pytest.mark.django_db


# --- reading files ---------------------------------------------------------------------------------------
def test_an_xlsx_file_is_read_through_the_same_parser_as_csv(golive, admin):
    content = xlsx(("Their code", "Our code"), ("10000", ar_code()), (None, None), (18000, 1000))
    report = run(golive, "chart", content, admin)
    assert [(r.row, r.external_id, r.action) for r in report.rows] == [
        (2, "10000", "unchanged"),
        (4, "18000", "unchanged"),
    ]


def test_a_file_without_a_required_column_is_refused_naming_it(golive, admin):
    with pytest.raises(ValidationFailed, match="'their_code'"):
        run(golive, "chart", csv("Code,Our code", "1,1000"), admin)


# --- chart -----------------------------------------------------------------------------------------------
def test_the_chart_maps_codes_and_creates_the_accounts_asked_for(golive, admin):
    report = run(golive, "chart", chart_file(), admin, apply=True)
    assert report.errors == 0 and report.created == 1
    assert LedgerAccount.objects.get(code="1999").name == "Legacy stock"
    assert golive.account_maps.count() == 5


def test_the_chart_dry_run_names_an_unknown_account_and_writes_nothing(golive, admin):
    report = run(golive, "chart", csv("Their code,Our code", "1,1000", "2,8888", "1,1000", "3,,"), admin)
    assert errors(report) == [(3, "unknown_account"), (4, "duplicate_code"), (5, "missing_our_code")]
    assert not golive.account_maps.exists() and not GoLiveImport.objects.exists()


# --- periods ---------------------------------------------------------------------------------------------
def test_periods_before_the_first_are_created_closed_by_an_administrator(golive, admin):
    months = [f"2025-{m:02d}" for m in range(10, 13)] + ["2026-01", "2026-02", "2026-03"]
    run(golive, "periods", csv("Period", *months), admin, apply=True)
    assert AccountingPeriod.objects.order_by("start").first().start == date(2025, 10, 1)
    closed = set(PeriodClose.objects.filter(entity=golive.entity).values_list("period__start", flat=True))
    assert closed == {date(2025, m, 1) for m in (10, 11, 12)} | {date(2026, m, 1) for m in (1, 2, 3)}
    from psa.core.models import AuditEvent

    assert AuditEvent.objects.filter(action="ledger.periods_history_create").exists()


def test_periods_are_refused_to_finance_without_the_administrator_role(golive, finance):
    with pytest.raises(PermissionDeniedError, match="administrator"):
        run(golive, "periods", csv("Period", "2026-03"), finance)


def test_the_periods_dry_run_names_gaps_and_months_after_the_cutover(golive, admin):
    report = run(golive, "periods", csv("Period", "2025-12", "2026-02", "2026-03", "2026-04", "March"), admin)
    assert errors(report) == [(5, "after_cutover"), (6, "bad_period"), (0, "not_contiguous")]
    assert "2026-01" in report.rows[-1].reason


# --- opening balances ------------------------------------------------------------------------------------
def test_an_unbalanced_trial_balance_is_refused_in_the_dry_run_and_nothing_is_written(golive, admin):
    run(golive, "chart", chart_file(), admin, apply=True)
    entries = JournalEntry.objects.count()
    report = run(golive, "opening_balances", csv("Account,Debit,Credit", "10000,100.00,", "30000,,90.00"), admin)
    assert errors(report) == [(0, "unbalanced")]
    assert "out by 10.00" in report.rows[-1].reason
    assert JournalEntry.objects.count() == entries and not GoLiveBalance.objects.exists()


def test_an_unknown_account_code_in_the_trial_balance_names_its_row(golive, admin):
    run(golive, "chart", chart_file(), admin, apply=True)
    report = run(golive, "opening_balances", csv("Account,Debit,Credit", "10000,100.00,", "55555,,100.00"), admin)
    assert (3, "unknown_account") in errors(report)
    assert "55555" in next(r.reason for r in report.rows if r.rule == "unknown_account")


def test_the_opening_balances_post_one_entry_at_the_cutover_that_the_books_show(golive, admin):
    run(golive, "chart", chart_file(), admin, apply=True)
    report = run(golive, "opening_balances", opening_file(), admin, apply=True)
    assert report.errors == 0
    entry = JournalEntry.objects.get(source=f"golive:{golive.pk}:opening")
    assert entry.date == CUTOVER and entry.total == Decimal("10000.00") and entry.entity_id == golive.entity_id
    tb = {r.account.code: r.closing for r in trial_balance(at=CUTOVER, entity_id=golive.entity_id).rows}
    assert tb == {ar_code(): Decimal("3000.00"), "1000": Decimal("7000.00"), "3000": Decimal("-10000.00")}


def test_an_apply_that_fails_half_way_writes_nothing(golive, admin, monkeypatch):
    run(golive, "chart", chart_file(), admin, apply=True)

    def broken(**kwargs):
        raise ConflictError("The ledger refused it.")

    monkeypatch.setattr("billing.services.golive.balances.entry_post", broken)
    with pytest.raises(ConflictError):
        run(golive, "opening_balances", opening_file(), admin, apply=True)
    assert not GoLiveBalance.objects.exists()
    assert GoLiveImport.objects.filter(kind="opening_balances").count() == 0


# --- receivables -----------------------------------------------------------------------------------------
def test_the_receivables_dry_run_names_each_bad_row_and_rule(golive, admin):
    make_account(name="Client A", external_id="C-A")
    issued_invoice(admin, "100.00", on=date(2026, 3, 2))  # PSA's own INV-2026-000001
    run(golive, "chart", chart_file(), admin, apply=True)
    run(golive, "opening_balances", opening_file(), admin, apply=True)
    report = run(
        golive,
        "receivables",
        receivables_file(
            "OLD-1,C-A,2026-03-01,2026-03-31,100.00,",
            "OLD-1,C-A,2026-03-01,2026-03-31,100.00,",
            "INV-2026-000001,C-A,2026-03-01,2026-03-31,100.00,",
            "INV-2026-000777,C-A,2026-03-01,2026-03-31,100.00,",
            "OLD-2,Nobody,2026-03-01,2026-03-31,100.00,",
            "OLD-3,C-A,2026-04-02,2026-05-01,100.00,",
            "OLD-4,C-A,2026-03-01,2026-03-31,100.00,100.00",
        ),
        admin,
    )
    assert errors(report) == [
        (3, "duplicate_invoice_number"),
        (4, "duplicate_invoice_number"),
        (5, "number_in_psa_series"),
        (6, "unknown_customer"),
        (7, "issued_after_cutover"),
        (8, "not_open"),
    ]
    assert not Invoice.objects.filter(imported=True).exists()


def test_receivables_that_do_not_add_up_to_the_opening_ar_are_refused(golive, admin):
    make_account(name="Client A", external_id="C-A")
    run(golive, "chart", chart_file(), admin, apply=True)
    run(golive, "opening_balances", opening_file(ar="3000.00"), admin, apply=True)
    report = run(golive, "receivables", receivables_file("OLD-1,C-A,2026-03-01,2026-03-31,2500.00,"), admin)
    assert errors(report) == [(0, "ar_total_mismatch")]
    assert "2,500.00" in report.rows[-1].reason and "3,000.00" in report.rows[-1].reason
    assert "row 2" in report.rows[-1].reason  # the opening balances row of the receivables account


def test_receivables_need_the_opening_balances_first(golive, admin):
    make_account(name="Client A", external_id="C-A")
    report = run(golive, "receivables", receivables_file("OLD-1,C-A,2026-03-01,2026-03-31,100.00,"), admin)
    assert errors(report) == [(0, "opening_balances_first")]


def test_imported_invoices_keep_their_numbers_and_the_books_reconcile(moved_in):
    imported = Invoice.objects.filter(imported=True).order_by("number")
    assert [(i.number, i.status, i.balance) for i in imported] == [
        ("OLD-1001", InvoiceStatus.PARTLY_PAID, Decimal("1000.00")),
        ("OLD-1002", InvoiceStatus.ISSUED, Decimal("1000.00")),
        ("OLD-1003", InvoiceStatus.ISSUED, Decimal("1000.00")),
    ]
    checks = golive_reconciliation(moved_in)
    assert checks and all(c.ok for c in checks), [(c.name, c.difference, c.rows) for c in checks if not c.ok]


def test_imported_invoices_are_aged_paid_and_credited_like_psas_own(moved_in, finance):
    old = Invoice.objects.get(number="OLD-1002")
    aging = ar_aging(as_of=date(2026, 4, 15), entity_id=moved_in.entity_id)
    by_client = {r.account_id: r for r in aging.rows}
    assert by_client[old.account_id].d1_30 == Decimal("1000.00")  # due 2026-03-31: 15 days overdue
    assert sum(r.total for r in aging.rows) == Decimal("3000.00")
    payment_record(
        by=finance,
        account_id=old.account_id,
        amount=Decimal("1000.00"),
        received_on=date(2026, 4, 10),
        allocations=[{"invoice_id": old.pk, "amount": "1000.00"}],
    )
    old.refresh_from_db()
    assert old.status == InvoiceStatus.PAID
    other = Invoice.objects.get(number="OLD-1003")
    note = credit_note_create(invoice_id=other.pk, by=finance, amount=Decimal("100.00"), reason="Goodwill")
    invoice_issue(invoice_id=note.pk, by=finance, on=date(2026, 4, 12))
    other.refresh_from_db()
    assert other.balance == Decimal("900.00")
    assert all(c.ok for c in golive_reconciliation(moved_in))


def test_imported_invoices_do_not_trip_psas_chronological_numbers(golive, admin, finance):
    # no historical periods yet: March is open, and the old system issued OLD-7 on 2026-03-20
    make_account(name="Client A", external_id="C-A")
    run(golive, "chart", chart_file(), admin, apply=True)
    run(golive, "opening_balances", opening_file(ar="500.00"), admin, apply=True)
    run(golive, "receivables", receivables_file("OLD-7,C-A,2026-03-20,2026-04-19,500.00,"), admin, apply=True)
    invoice = issued_invoice(finance, "100.00", on=date(2026, 3, 5))  # PSA's own series starts earlier: fine
    assert invoice.number.startswith("INV-2026-")


# --- balance history -------------------------------------------------------------------------------------
def test_balance_history_makes_last_years_pnl(moved_in, admin):
    report = run(
        moved_in,
        "balance_history",
        csv("Account,Period,Debit,Credit", "80000,2025-10,,5000.00", "80000,2025-11,,6000.00"),
        admin,
        apply=True,
    )
    assert report.errors == 0
    last_year = pnl(start=date(2025, 10, 1), end=date(2025, 12, 31), entity_id=moved_in.entity_id)
    assert last_year.income_total == Decimal("11000.00")
    assert trial_balance(at=CUTOVER, entity_id=moved_in.entity_id).balanced  # history is not posted


def test_balance_history_refuses_months_that_are_not_closed_history(moved_in, admin):
    report = run(moved_in, "balance_history", csv("Account,Period,Credit", "80000,2024-01,1.00"), admin)
    assert errors(report) == [(2, "no_period")]
    assert not HistoricalBalance.objects.exists()


# --- complete, rollback, the cut-over --------------------------------------------------------------------
def test_completion_needs_every_check_green(golive, admin):
    run(golive, "chart", chart_file(), admin, apply=True)
    with pytest.raises(ConflictError):
        golive_complete(golive=golive, user=admin)  # nothing imported yet: nothing to prove


def test_after_completion_documents_before_the_cutover_are_refused_naming_it(moved_in, admin, finance):
    golive_complete(golive=moved_in, user=admin)
    assert moved_in.entity.__class__.objects.get(pk=moved_in.entity_id).books_start == CUTOVER
    client = moved_in.clients[0]
    with pytest.raises(ValidationFailed, match="2026-04-01"):
        payment_record(by=finance, account_id=client.pk, amount=Decimal("1.00"), received_on=date(2026, 3, 31))
    with pytest.raises(ValidationFailed, match="cut-over on 2026-04-01"):
        entry_post(
            spec=EntrySpec(
                date=date(2026, 3, 31),
                memo="Late",
                lines=(LineSpec(account="1000", debit=Decimal(1)), LineSpec(account="3000", credit=Decimal(1))),
            ),
            key="late",
        )
    with pytest.raises(ValidationFailed, match="cut-over"):
        issued_invoice(finance, "100.00", on=date(2026, 3, 30))


def test_a_complete_golive_cannot_be_rolled_back(moved_in, admin):
    golive_complete(golive=moved_in, user=admin)
    with pytest.raises(ConflictError):
        golive_rollback(golive=moved_in, user=admin)


def test_rollback_undoes_every_import_as_a_whole(moved_in, admin):
    opening = JournalEntry.objects.get(source=f"golive:{moved_in.pk}:opening")
    golive_rollback(golive=moved_in, user=admin)
    moved_in.refresh_from_db()
    assert moved_in.status == GoLiveStatus.ROLLED_BACK
    assert not Invoice.objects.filter(imported=True).exists()
    assert JournalEntry.objects.filter(reverses=opening).exists()  # posted entries are reversed, not deleted
    tb = trial_balance(at=CUTOVER, entity_id=moved_in.entity_id)  # reversed on the cut-over itself
    assert all(r.closing == 0 for r in tb.rows)
    assert AccountingPeriod.objects.order_by("start").first().start == date(2026, 1, 1)
    assert not PeriodClose.objects.exists()
    assert not LedgerAccount.objects.filter(code="1999").exists()  # created by the chart, never posted to
    assert not GoLiveObject.objects.filter(golive=moved_in).exists()
    # a new go-live for the entity may start again
    assert golive_create(entity=moved_in.entity, cutover_date=CUTOVER, user=admin).status == GoLiveStatus.DRAFT


def test_the_cutover_is_the_first_of_a_month(db, admin):
    with pytest.raises(ValidationFailed, match="first day"):
        golive_create(entity=entity_default(), cutover_date=date(2026, 4, 15), user=admin)


def test_only_finance_runs_a_golive(golive, make_user):
    with pytest.raises(PermissionDeniedError):
        run(golive, "chart", chart_file(), make_user("project_manager"))
    assert GoLive.objects.count() == 1


def test_imported_invoices_are_dunned_like_psas_own(moved_in, finance):
    # OLD-1002 was due 2026-03-31: 8 days later it gets its first reminder, with the old number and what is open
    sent = dunning_send(by=finance, as_of=date(2026, 4, 8)).sent
    by_number = {r.invoice.number: r for r in sent}
    assert by_number["OLD-1002"].level == 1 and by_number["OLD-1002"].balance == Decimal("1000.00")
    assert "OLD-1003" not in by_number  # not due yet


def test_the_pnl_compares_this_year_with_the_imported_last_year(moved_in, admin, client_as):
    run(moved_in, "balance_history", csv("Account,Period,Credit", "80000,2025-10,5000.00"), admin, apply=True)
    report = pnl(start=date(2026, 10, 1), end=date(2026, 10, 31), by="year", entity_id=moved_in.entity_id)
    (revenue,) = report.income
    assert revenue.values == [Decimal("5000.00"), Decimal("0.00"), Decimal("-5000.00")]
    assert report.columns[0].startswith("2025-10-01") and not report.show_total
    page = client_as("finance").get("/ledger/reports/pnl/", {"start": "2026-10-01", "end": "2026-10-31", "by": "year"})
    assert page.status_code == 200 and "Change" in page.content.decode()
