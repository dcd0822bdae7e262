"""Re-billable vendor costs as a billing source: a re-billable line of a posted vendor bill is invoiced once, by
the next run after its bill date, on the contract of its contract line, for the re-bill amount fixed at posting,
one invoice line each through the contract position; a credit note releases it for exactly one more billing."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from billing.choices import SourceKind, VendorBillStatus
from billing.models import Invoice, SourceLink
from billing.services import (
    billing_run_create,
    billing_run_execute,
    billing_run_start,
    credit_note_create,
    invoice_draft_for_contract,
    invoice_issue,
)
from billing.services.sources import contracts_with_sources
from ledger.choices import SystemAccount
from ledger.models import JournalLine
from tests.billing.factories import approved_entry, make_consultant, tm_contract
from tests.billing.rebill_factories import make_vendor, posted_bill, rebillable_line

pytestmark = pytest.mark.django_db
END = date(2026, 1, 31)


def _draft(contract, period_end=END):
    with transaction.atomic():
        return invoice_draft_for_contract(contract=contract, period_end=period_end)


def _run(finance, period_end=END, **scope):
    run = billing_run_create(by=finance, period_end=period_end, **scope)
    billing_run_start(run_id=run.pk, by=finance)
    billing_run_execute(run_id=run.pk)
    return run


def test_a_rebillable_vendor_line_is_invoiced_once_for_its_rebill_amount_on_a_line_of_its_own(periods, finance):
    contract, line = tm_contract()
    approved_entry(line, make_consultant(), date(2026, 1, 5), "8.00", "150")
    bill = posted_bill(make_vendor("Cloudy Hosting", subcontractor=False), on=date(2026, 1, 20), number="CH-77")
    hosting = rebillable_line(bill, line, "200.00", rebill="230.00", description="Staging servers")

    run = _run(finance, scope="accounts", account_ids=[contract.account_id])

    invoice = Invoice.objects.get(run=run)
    (vendor_line,) = [ln for ln in invoice.lines.all() if ln.sources.filter(kind=SourceKind.VENDOR_COST).exists()]
    assert (vendor_line.net, vendor_line.quantity, vendor_line.unit) == (Decimal("230.00"), Decimal("1.0000"), "C62")
    assert vendor_line.description == "Re-billed cost 20 Jan 2026: Staging servers"
    assert "Cloudy" not in vendor_line.description, "the vendor and its cost stay off the client's document"
    link = vendor_line.sources.get()
    assert (link.source_id, link.amount, link.source_date) == (hosting.pk, Decimal("230.00"), date(2026, 1, 20))
    assert vendor_line.contract_line_id == line.pk
    assert invoice.net_total == Decimal("1430.00")  # 8 h x 150 + 230.00
    again = _run(finance)
    assert not Invoice.objects.filter(run=again).exists(), "a billed vendor cost is not billed again"
    assert SourceLink.objects.filter(kind=SourceKind.VENDOR_COST).count() == 1


def test_a_cost_is_billable_only_from_its_bill_date_and_only_once_its_bill_is_posted(periods):
    contract, line = tm_contract()
    vendor = make_vendor(subcontractor=False)
    later = rebillable_line(posted_bill(vendor, on=date(2026, 2, 3)), line, "50.00")
    for status in (VendorBillStatus.DRAFT, VendorBillStatus.AWAITING_APPROVAL, VendorBillStatus.REJECTED):
        rebillable_line(posted_bill(vendor, on=date(2026, 1, 10), status=status), line, "70.00")
    paid = rebillable_line(posted_bill(vendor, on=date(2026, 1, 11), status=VendorBillStatus.PAID), line, "20.00")
    part = rebillable_line(posted_bill(vendor, on=date(2026, 1, 12), status=VendorBillStatus.PARTLY_PAID), line, "9")

    invoice = _draft(contract)

    billed = set(SourceLink.objects.filter(line__invoice=invoice).values_list("source_id", flat=True))
    assert billed == {paid.pk, part.pk}
    assert _draft(contract, date(2026, 2, 28)).lines.get().sources.get().source_id == later.pk


def test_a_line_whose_policy_rebills_nothing_and_other_kinds_of_line_are_not_billed(periods):
    contract, line = tm_contract()
    bill = posted_bill(make_vendor(subcontractor=False))
    rebillable_line(bill, line, "80.00", rebill="")  # expense policy "none": no re-bill amount
    assert _draft(contract) is None
    assert contracts_with_sources(contract_ids=[contract.pk], period_end=END) == {}


def test_only_the_contract_of_the_cost_s_contract_line_bills_it(periods):
    mine, my_line = tm_contract()
    other, other_line = tm_contract()
    bill = posted_bill(make_vendor(subcontractor=False))
    cost = rebillable_line(bill, other_line, "120.00")
    assert contracts_with_sources(contract_ids=[mine.pk, other.pk], period_end=END) == {
        other.pk: [SourceKind.VENDOR_COST]
    }
    assert _draft(mine) is None
    assert _draft(other).lines.get().sources.get().source_id == cost.pk
    assert my_line.pk != other_line.pk


def test_a_cap_applies_to_vendor_costs_with_the_line_s_other_sources(periods):
    contract, line = tm_contract(cap="1000.00")
    approved_entry(line, make_consultant(), date(2026, 1, 5), "6.00", "150")  # 900.00
    rebillable_line(posted_bill(make_vendor(subcontractor=False), on=date(2026, 1, 25)), line, "300.00")
    invoice = _draft(contract)
    vendor_line = invoice.lines.get(sources__kind=SourceKind.VENDOR_COST)
    assert (vendor_line.net, vendor_line.written_down) == (Decimal("100.00"), Decimal("200.00"))
    assert invoice.net_total == Decimal("1000.00")


def test_the_invoice_settles_the_contract_position_and_a_credit_releases_the_cost_for_one_more_billing(
    periods, finance
):
    contract, line = tm_contract()
    vendor = make_vendor(subcontractor=False)
    hosting = rebillable_line(posted_bill(vendor, on=date(2026, 1, 6)), line, "100.00", rebill="110.00")
    licence = rebillable_line(posted_bill(vendor, on=date(2026, 1, 7)), line, "45.50")
    invoice = invoice_issue(invoice_id=_draft(contract).pk, by=finance, on=date(2026, 2, 1))
    gl = JournalLine.objects.filter(entry=invoice.journal_entry)
    position = gl.filter(account__system_role__in=[SystemAccount.UNBILLED, SystemAccount.DEFERRED])
    assert sum((ln.credit for ln in position), Decimal("0")) == Decimal("155.50")
    assert not gl.filter(account__system_role=SystemAccount.REIMBURSEMENT_REVENUE).exists()

    link = SourceLink.objects.get(kind=SourceKind.VENDOR_COST, source_id=hosting.pk)
    note = credit_note_create(invoice_id=invoice.pk, by=finance, link_ids=[link.pk], reason="Wrong project")
    invoice_issue(invoice_id=note.pk, by=finance, on=date(2026, 2, 2))

    link.refresh_from_db()
    assert link.released_at is not None
    assert not SourceLink.objects.filter(kind=SourceKind.VENDOR_COST, source_id=licence.pk, released_at__isnull=False)
    again = _draft(contract, date(2026, 2, 28))
    assert [(ln.net, ln.sources.get().source_id) for ln in again.lines.all()] == [(Decimal("110.00"), hosting.pk)]
    assert _draft(contract, date(2026, 2, 28)) is None
