"""AP aging by vendor and bucket, the AP control (payable account = open vendor bills, DESIGN.md 5.13) and its
month-end check, and the VAT return's purchases (input VAT, reverse charge) reconciled to their accounts."""

from datetime import date
from decimal import Decimal

import pytest

from billing.close_checks import ap_reconciliation, vendor_bills_waiting
from billing.models import VendorBill
from billing.selectors import vat_return
from billing.selectors.payables import ap_aging, ap_control
from billing.services.payables import bill_create
from ledger.models import AccountingPeriod
from psa.core.entities import entity_default_id
from psa.core.models import ExchangeRate
from tests.billing.payables_factories import (
    cost_accounts,
    cost_line,
    foreign_agency,
    gb_entity,
    make_vendor,
    managed_project,
    posted_bill,
)

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def books(periods):
    cost_accounts()
    gb_entity()


@pytest.fixture
def bills(books, finance):
    project, _, _ = managed_project()
    domestic, agency = make_vendor(name="Alpha"), foreign_agency(name="Beta")
    ExchangeRate.objects.create(currency="USD", quote="EUR", date=date(2026, 2, 1), rate=D("0.9000"))
    dollar = make_vendor(name="Gamma", currency="USD")
    posted_bill(finance, domestic, [cost_line(project, "100.00", tax_rate="20")], on=date(2026, 2, 10))  # due 12 Mar
    posted_bill(finance, agency, [cost_line(project, "500.00")], on=date(2025, 11, 1))  # due 1 Dec: 99 days late
    posted_bill(finance, dollar, [cost_line(project, "333.33")], on=date(2026, 2, 5))
    bill_create(by=finance, vendor_id=domestic.pk, number="DRAFT", bill_date=date(2026, 2, 11),
                lines=[cost_line(project, "50.00")])  # fmt: skip
    return project


def test_aging_puts_each_open_bill_in_its_bucket_per_vendor_and_currency(bills):
    aging = ap_aging(as_of=date(2026, 3, 10))
    rows = {r.vendor: r for r in aging.rows}
    assert set(rows) == {"Alpha", "Beta", "Gamma"}  # the draft is not open
    assert (rows["Alpha"].current, rows["Alpha"].currency) == (D("120.00"), "EUR")
    assert rows["Beta"].d90 == D("500.00")
    assert rows["Gamma"].currency == "USD" and rows["Gamma"].total == D("333.33")
    assert aging.by_currency()["EUR"].total == D("620.00")


def test_ap_control_equals_the_open_bills_after_posting_and_after_a_payment(bills):
    control = ap_control(entity_id=entity_default_id(), at=date(2026, 3, 31))
    # 120.00 + 500.00 + 333.33 USD x 0.90 = 300.00
    assert (control.ledger, control.open_bills, control.reconciled) == (D("920.00"), D("920.00"), True)
    # A payment (the "pay" services) lowers amount_paid; the bill side follows; the GL only with its entry.
    bill = VendorBill.objects.get(vendor__name="Alpha", status="posted")
    VendorBill.objects.filter(pk=bill.pk).update(amount_paid=D("20.00"), status="partly_paid")
    assert ap_control(entity_id=entity_default_id(), at=date(2026, 3, 31)).difference == D("20.00")


def test_the_close_check_flags_an_entity_whose_ap_does_not_reconcile(bills):
    period = AccountingPeriod.objects.get(start=date(2026, 3, 1))
    assert ap_reconciliation(period).count == 0
    VendorBill.objects.filter(vendor__name="Alpha", status="posted").update(
        amount_paid=D("20.00"), status="partly_paid"
    )
    result = ap_reconciliation(period)
    assert (result.count, result.amount) == (1, D("20.00"))


def test_the_close_check_counts_bills_not_yet_approved(bills):
    period = AccountingPeriod.objects.get(start=date(2026, 2, 1))
    assert vendor_bills_waiting(period).count == 1


def test_the_vat_return_shows_input_vat_and_reverse_charge_reconciled(books, finance):
    project, _, _ = managed_project()
    posted_bill(finance, make_vendor(), [cost_line(project, "100.00", tax_rate="20")], on=date(2026, 2, 10))
    posted_bill(finance, foreign_agency(), [cost_line(project, "400.00")], on=date(2026, 2, 12))
    posted_bill(finance, make_vendor(), [cost_line(project, "999.00", tax_rate="20")], on=date(2026, 3, 2))
    result = vat_return(start=date(2026, 2, 1), end=date(2026, 2, 28), entity_id=entity_default_id())
    assert (result.input_vat, result.reverse_charge_due, result.reverse_charge_purchases) == (
        D("20.00"), D("80.00"), D("400.00"),
    )  # fmt: skip
    assert result.input_total == D("100.00") and result.bills == 2
    assert result.net_payable == result.output_tax + D("80.00") - D("100.00")
    assert result.purchases_reconciled
    assert (result.ledger_input_vat, result.ledger_reverse_charge) == (D("100.00"), D("80.00"))
