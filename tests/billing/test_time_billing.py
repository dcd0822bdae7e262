"""Time and expenses as billing sources: one T&M line per contract line x role x rate with a link per entry
summing to the line's net to the cent, caps with write-downs, expenses with markup through the contract
position, the time appendix, and a partial credit note that releases exactly its hours for the next run."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from billing.choices import InvoiceStatus, SourceKind
from billing.models import CapWriteDown, Invoice, SourceLink
from billing.services import (
    billing_run_create,
    billing_run_execute,
    billing_run_start,
    credit_note_create,
    invoice_draft_for_contract,
    invoice_issue,
)
from billing.services.documents import invoice_context
from billing.services.sources import candidates_for
from ledger.choices import SystemAccount
from ledger.models import JournalLine
from psa.core.exceptions import ValidationFailed
from tests.billing.factories import (
    approved_entry,
    approved_expense,
    make_consultant,
    tm_contract,
)
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db
END = date(2026, 1, 31)


def _draft(contract, period_end=END):
    with transaction.atomic():
        return invoice_draft_for_contract(contract=contract, period_end=period_end)


def test_entries_group_per_role_and_rate_and_their_links_sum_to_the_line_net(periods):
    contract, line = tm_contract()
    ada = make_consultant("Senior consultant", "Ada", "Lovelace")
    alan = make_consultant("Senior consultant", "Alan", "Turing")
    grace = make_consultant("Junior consultant", "Grace", "Hopper")
    e1 = approved_entry(line, ada, date(2026, 1, 5), "0.33", "99.99")
    e2 = approved_entry(line, alan, date(2026, 1, 6), "0.33", "99.99")
    e3 = approved_entry(line, ada, date(2026, 1, 7), "0.34", "99.99")
    approved_entry(line, grace, date(2026, 1, 7), "2.50", "80.00")
    approved_entry(line, ada, date(2026, 1, 8), "1.00", "110.00")  # same role, another rate: its own line
    approved_entry(line, ada, date(2026, 2, 2), "3.00", "99.99")  # after the period end
    approved_entry(line, ada, date(2026, 1, 9), "4.00", "99.99", billable=False)  # non-billable task

    invoice = _draft(contract)
    lines = {(ln.unit_price, ln.description): ln for ln in invoice.lines.all()}
    assert len(lines) == 3
    senior = lines[(Decimal("99.9900"), "Senior consultant — Implementation services")]
    assert (senior.quantity, senior.unit, senior.net) == (Decimal("1.0000"), "HUR", Decimal("99.99"))
    assert (senior.period_start, senior.period_end) == (date(2026, 1, 5), date(2026, 1, 7))
    # 99.99 x 0.33 = 32.9967 -> 33.00 twice; the latest entry takes the remainder: 99.99 - 66.00 = 33.99
    links = {lk.source_id: lk.amount for lk in senior.sources.all()}
    assert links == {e1.pk: Decimal("33.00"), e2.pk: Decimal("33.00"), e3.pk: Decimal("33.99")}
    assert sum(links.values()) == senior.net
    assert lines[(Decimal("80.0000"), "Junior consultant — Implementation services")].net == Decimal("200.00")
    assert lines[(Decimal("110.0000"), "Senior consultant — Implementation services")].net == Decimal("110.00")
    assert invoice.net_total == Decimal("409.99")
    assert SourceLink.objects.filter(kind=SourceKind.TIME_ENTRY).count() == 5
    assert _draft(contract) is None, "billed entries are not billed again"


def test_finding_time_costs_the_same_queries_for_ten_times_the_entries(periods):
    contract, line = tm_contract()
    ada = make_consultant()
    for d in range(1, 4):
        approved_entry(line, ada, date(2026, 1, d), "2.00", "120")

    def count():
        queries, found = count_queries(lambda: candidates_for(contract_ids=[contract.pk], period_end=END, lock=False))
        return queries, len(found)

    small, n_small = count()
    others = [make_consultant(first=f"C{i}") for i in range(9)]
    for c in others:
        for d in range(1, 4):
            approved_entry(line, c, date(2026, 1, d), "2.00", "120")
    large, n_large = count()
    assert (n_small, n_large) == (3, 30)
    assert small == large


def test_a_grouped_line_crossing_the_cap_bills_up_to_it_and_writes_the_rest_down(periods):
    contract, line = tm_contract(cap="500.00")
    ada = make_consultant()
    entries = [approved_entry(line, ada, date(2026, 1, d), "2.00", "100") for d in (5, 6, 7)]
    invoice = _draft(contract)
    (tm,) = invoice.lines.all()
    assert (tm.net, tm.written_down, tm.quantity) == (Decimal("500.00"), Decimal("100.00"), Decimal("6.0000"))
    assert tm.unit_price == Decimal("83.3333")  # round(500 / 6, 4)
    assert "capped" in tm.description
    by_entry = {lk.source_id: (lk.amount, lk.written_down) for lk in tm.sources.all()}
    assert by_entry == {
        entries[0].pk: (Decimal("200.00"), Decimal("0.00")),
        entries[1].pk: (Decimal("200.00"), Decimal("0.00")),
        entries[2].pk: (Decimal("100.00"), Decimal("100.00")),
    }
    (down,) = CapWriteDown.objects.all()
    assert (down.amount, down.cap, down.link.source_id) == (Decimal("100.00"), Decimal("500.00"), entries[2].pk)


def test_expenses_bill_one_line_each_with_markup_through_the_contract_position(periods, finance):
    contract, line = tm_contract()
    ada = make_consultant()
    approved_entry(line, ada, date(2026, 1, 5), "8.00", "150")
    hotel = approved_expense(
        line, ada, date(2026, 1, 6), "100.00", markup="10", category="lodging", description="Hotel"
    )
    train = approved_expense(line, ada, date(2026, 1, 7), "45.50")
    approved_expense(line, ada, date(2026, 1, 8), "30.00", billable=False)
    invoice = _draft(contract)
    expense_lines = [ln for ln in invoice.lines.all() if ln.sources.filter(kind=SourceKind.EXPENSE).exists()]
    assert sorted((ln.net, ln.quantity, ln.unit) for ln in expense_lines) == [
        (Decimal("45.50"), Decimal("1.0000"), "C62"),
        (Decimal("110.00"), Decimal("1.0000"), "C62"),
    ]
    hotel_line = next(ln for ln in expense_lines if ln.net == Decimal("110.00"))
    assert "Hotel" in hotel_line.description and "cost 100.00 + 10% markup" in hotel_line.description
    assert invoice.net_total == Decimal("1355.50")  # 8 h x 150 + 110.00 + 45.50
    issued = invoice_issue(invoice_id=invoice.pk, by=finance, on=date(2026, 2, 1))
    gl = JournalLine.objects.filter(entry=issued.journal_entry)
    # The whole net settles the contract position: recognition recognised the expenses with the T&M work.
    assert not gl.filter(account__system_role=SystemAccount.REIMBURSEMENT_REVENUE).exists()
    position = sum(
        (ln.credit for ln in gl.filter(account__system_role__in=[SystemAccount.UNBILLED, SystemAccount.DEFERRED])),
        Decimal("0"),
    )
    assert position == Decimal("1355.50")
    # crediting the hotel releases it and moves the contract position back by its net
    hotel_link = SourceLink.objects.get(kind=SourceKind.EXPENSE, source_id=hotel.pk)
    note = credit_note_create(invoice_id=issued.pk, by=finance, link_ids=[hotel_link.pk])
    note = invoice_issue(invoice_id=note.pk, by=finance, on=date(2026, 2, 2))
    back = JournalLine.objects.filter(
        entry=note.journal_entry, account__system_role__in=[SystemAccount.UNBILLED, SystemAccount.DEFERRED]
    )
    assert sum((ln.debit - ln.credit for ln in back), Decimal("0")) == Decimal("110.00")
    assert not SourceLink.objects.filter(kind=SourceKind.EXPENSE, source_id=train.pk, released_at__isnull=False)
    again = _draft(contract, date(2026, 2, 28))
    assert [(ln.net, ln.sources.get().source_id) for ln in again.lines.all()] == [(Decimal("110.00"), hotel.pk)]


def test_an_expense_in_another_currency_fails_the_contract_with_a_reason(periods):
    contract, line = tm_contract()
    ada = make_consultant()
    approved_entry(line, ada, date(2026, 1, 5), "1.00", "150")
    usd = approved_expense(line, ada, date(2026, 1, 6), "20.00", currency="USD")
    with pytest.raises(ValidationFailed) as exc:
        _draft(contract)
    assert f"Expenses {usd.pk} are not in the contract's currency (EUR)" in exc.value.message
    assert not Invoice.objects.exists() and not SourceLink.objects.exists()


def test_the_time_appendix_lists_the_entries_by_consultant_and_date(periods):
    contract, line = tm_contract()
    zoe = make_consultant(first="Zoe", last="Adams")
    bob = make_consultant(first="Bob", last="Young")
    approved_entry(line, bob, date(2026, 1, 6), "1.50", "100", note="Workshop")
    approved_entry(line, zoe, date(2026, 1, 7), "2.00", "100", note="Design review")
    approved_entry(line, zoe, date(2026, 1, 5), "3.00", "100", note="Kick-off")
    ctx = invoice_context(_draft(contract))
    assert [(e["consultant"], e["date"], e["hours"], e["description"]) for e in ctx["time_entries"]] == [
        ("Zoe Adams", date(2026, 1, 5), Decimal("3.00"), "Kick-off"),
        ("Zoe Adams", date(2026, 1, 7), Decimal("2.00"), "Design review"),
        ("Bob Young", date(2026, 1, 6), Decimal("1.50"), "Workshop"),
    ]
    assert ctx["time_hours"] == Decimal("6.50")


@pytest.mark.postgres
def test_a_partial_credit_releases_exactly_its_hours_and_the_next_run_bills_them_once(periods, finance):
    contract, line = tm_contract()
    ada = make_consultant()
    entries = [
        approved_entry(line, ada, date(2026, 1, d), h, "120") for d, h in ((5, "2.00"), (6, "3.25"), (7, "1.75"))
    ]
    run = billing_run_create(by=finance, period_end=END, scope="accounts", account_ids=[contract.account_id])
    billing_run_start(run_id=run.pk, by=finance)
    billing_run_execute(run_id=run.pk)
    invoice = Invoice.objects.get(run=run)
    assert invoice.net_total == Decimal("840.00")  # 7 h x 120
    invoice = invoice_issue(invoice_id=invoice.pk, by=finance, on=date(2026, 2, 1))
    links = {lk.source_id: lk for lk in SourceLink.objects.filter(line__invoice=invoice)}
    credited = [links[entries[1].pk].pk, links[entries[2].pk].pk]
    note = credit_note_create(invoice_id=invoice.pk, by=finance, link_ids=credited, reason="Hours disputed")
    (cl,) = note.lines.all()
    assert (cl.quantity, cl.unit_price, cl.net) == (Decimal("5.0000"), Decimal("120.0000"), Decimal("600.00"))
    assert SourceLink.objects.filter(released_at__isnull=False).count() == 0, "a draft credit releases nothing"
    assert invoice_context(note)["time_hours"] == Decimal("5.00")
    invoice_issue(invoice_id=note.pk, by=finance, on=date(2026, 2, 2))
    released = set(SourceLink.objects.filter(released_at__isnull=False).values_list("source_id", flat=True))
    assert released == {entries[1].pk, entries[2].pk}
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PARTLY_CREDITED and invoice.balance == Decimal("288.00")  # 240 + 20 % VAT

    rerun = billing_run_create(by=finance, period_end=date(2026, 2, 28))
    billing_run_start(run_id=rerun.pk, by=finance)
    billing_run_execute(run_id=rerun.pk)
    again = Invoice.objects.get(run=rerun)
    (ln,) = again.lines.all()
    assert (ln.quantity, ln.net) == (Decimal("5.0000"), Decimal("600.00"))
    assert sorted(ln.sources.values_list("source_id", flat=True)) == [entries[1].pk, entries[2].pk]
    third = billing_run_create(by=finance, period_end=date(2026, 3, 31))
    billing_run_start(run_id=third.pk, by=finance)
    billing_run_execute(run_id=third.pk)
    assert not Invoice.objects.filter(run=third).exists()
    active = SourceLink.objects.filter(kind=SourceKind.TIME_ENTRY, released_at__isnull=True)
    assert sorted(active.values_list("source_id", flat=True)) == sorted(e.pk for e in entries)


def test_recognised_time_and_expenses_are_settled_exactly_by_their_invoice(periods, finance):
    """Invariant 7 with expenses: January's recognition books 8 h x 150 + the 110.00 re-billed hotel as unbilled
    receivable; February's invoice of the same work relieves it to zero, and revenue is the invoiced net."""
    from ledger.models import AccountingPeriod
    from ledger.services.revenue import recognition_run

    contract, line = tm_contract()
    ada = make_consultant()
    approved_entry(line, ada, date(2026, 1, 5), "8.00", "150")
    approved_expense(line, ada, date(2026, 1, 6), "100.00", markup="10", category="lodging", description="Hotel")
    recognition_run(period_id=AccountingPeriod.objects.get(start=date(2026, 1, 1)).pk, by=finance)

    def balance(role):
        lines = JournalLine.objects.filter(account__system_role=role, project=contract.project)
        return sum((ln.debit - ln.credit for ln in lines), Decimal("0"))

    assert balance(SystemAccount.UNBILLED) == Decimal("1310.00")
    assert -balance(SystemAccount.SERVICES_REVENUE) == Decimal("1310.00")
    issued = invoice_issue(invoice_id=_draft(contract).pk, by=finance, on=date(2026, 2, 1))
    assert issued.net_total == Decimal("1310.00")
    assert balance(SystemAccount.UNBILLED) == balance(SystemAccount.DEFERRED) == Decimal("0")
    assert -balance(SystemAccount.SERVICES_REVENUE) == issued.net_total
