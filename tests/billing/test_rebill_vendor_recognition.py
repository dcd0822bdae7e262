"""Re-billed vendor costs in revenue recognition: billing tells the ledger what a posted bill re-bills, and the
month's recognition counts it with the contract line's re-billed expenses, from the bill's date, once; the invoice
that bills it then relieves the unbilled receivable it opened (nothing is left in the contract position)."""

from datetime import date

import pytest

from billing.services import invoice_draft_for_contract, invoice_issue
from billing.services.vendor_costs import vendor_bill_rebill_record
from ledger.choices import SystemAccount
from ledger.models import RebilledCost
from ledger.services import rebilled_cost_record
from ledger.services.revenue import recognition_run
from psa.core.exceptions import IdempotencyConflict
from tests.billing.factories import make_contract, make_line
from tests.billing.rebill_factories import make_vendor, posted_bill, rebillable_line
from tests.ledger.revenue_factories import D, approved_time, books, gl, period, revenue, zero_tax_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance(make_user):
    books()
    return make_user("finance")


def test_a_rebilled_vendor_cost_is_recognised_from_its_bill_date_and_its_invoice_clears_the_position(finance):
    contract = make_contract(zero_tax_account())
    line = make_line(contract, "tm", price="0.00")
    project = contract.project
    approved_time(project, line, date(2026, 1, 12), "5.00", rate="100")
    vendor = make_vendor(subcontractor=False)
    rebillable_line(posted_bill(vendor, on=date(2026, 1, 20)), line, "200.00", rebill="230.00")
    rebillable_line(posted_bill(vendor, on=date(2026, 2, 3)), line, "40.00")  # February's

    jan = recognition_run(period_id=period(date(2026, 1, 1)).pk, by=finance)
    assert jan.amount == D("730.00")  # 5 h x 100 + 230.00
    assert gl(SystemAccount.UNBILLED, project) == D("730.00")
    again = recognition_run(period_id=period(date(2026, 1, 1)).pk, by=finance)
    assert again.amount == D("0.00"), "a second run recognises nothing twice"

    draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
    invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 1, 31))
    assert gl(SystemAccount.UNBILLED, project) == D("0.00")
    assert gl(SystemAccount.DEFERRED, project) == D("0.00")
    recognition_run(period_id=period(date(2026, 2, 1)).pk, by=finance)
    assert revenue(project) == D("770.00")


def test_telling_the_ledger_twice_records_each_line_once_and_a_changed_amount_is_refused(finance):
    contract = make_contract(zero_tax_account())
    line = make_line(contract, "tm", price="0.00")
    bill = posted_bill(make_vendor(subcontractor=False))
    cost = rebillable_line(bill, line, "99.00")
    vendor_bill_rebill_record(bill=bill)
    assert list(RebilledCost.objects.values_list("source", "amount")) == [(f"vendor_bill_line:{cost.pk}", D("99.00"))]
    with pytest.raises(IdempotencyConflict):
        rebilled_cost_record(
            contract_line_id=line.pk, on=bill.bill_date, amount=D("98.00"), source=f"vendor_bill_line:{cost.pk}"
        )
