"""Paying vendors by hand (billing.services.vendor_payments), proved to the cent.

The foreign-currency case (functional currency EUR; rates are EUR per 1 USD):

     1 Feb  bill 1,000.00 USD at 0.90: Dr cost 900.00 / Cr AP 900.00
     1 Mar  pay 400.00 USD at 0.95 = 380.00: the bill's share round(900.00 x 400 / 1,000) = 360.00 leaves AP
            Dr AP 360.00 / Cr cash 380.00 / Dr realised loss 20.00
     1 Apr  pay the rest 600.00 USD at 0.85 = 510.00: the remainder 900.00 - 360.00 = 540.00 leaves AP
            Dr AP 540.00 / Cr cash 510.00 / Cr realised gain 30.00
"""

from datetime import date
from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.choices import VendorBillStatus
from billing.models import VendorBill, VendorPayment
from billing.services.payment_runs import payment_run_propose
from billing.services.vendor_payments import bill_share, vendor_payment_record
from ledger.choices import SystemAccount
from ledger.models import JournalEntry
from ledger.services import account_code_for
from psa.core.entities import entity_create, entity_default
from psa.core.exceptions import ConflictError, PermissionDeniedError, ValidationFailed
from psa.core.fx import MissingRate, Rate, convert
from psa.core.money import round_money
from tests.billing.vendor_payment_factories import (
    gl_balance,
    make_bank_account,
    make_vendor,
    open_functional,
    posted_bill,
    set_rate,
)

D = Decimal
pytestmark = pytest.mark.django_db


def _pay(finance, vendor, amount, on=date(2026, 3, 1), **kw):
    return vendor_payment_record(
        vendor=vendor, entity=kw.pop("entity", entity_default()), paid_on=on, amount=amount, by=finance, **kw
    )


def _ap_matches_open_bills(entity=None) -> None:
    """AP control: the payable account's credit balance equals the open bills' functional open amount."""
    assert -gl_balance(SystemAccount.PAYABLE, entity) == open_functional(entity)


def test_a_payment_settles_the_oldest_due_bills_first_and_posts_ap_against_cash(periods, finance):
    vendor = make_vendor()
    older = posted_bill(vendor, "300.00", bill_date=date(2026, 1, 10))
    newer = posted_bill(vendor, "500.00", bill_date=date(2026, 2, 1))
    payment = _pay(finance, vendor, "450.00", reference="Jan and Feb")
    older.refresh_from_db(), newer.refresh_from_db()
    assert (older.amount_paid, older.status) == (D("300.00"), VendorBillStatus.PAID)
    assert (newer.amount_paid, newer.status) == (D("150.00"), VendorBillStatus.PARTLY_PAID)
    entry = JournalEntry.objects.get(source=f"vendor-payment:{payment.pk}")
    assert entry.entity_id == entity_default().pk and payment.journal_entry_id == entry.pk
    lines = {(ln.account.code, ln.debit, ln.credit) for ln in entry.lines.select_related("account")}
    assert lines == {("2000", D("300.00"), D("0")), ("2000", D("150.00"), D("0")), ("1000", D("0"), D("450.00"))}
    assert gl_balance(SystemAccount.CASH) == D("-450.00")
    _ap_matches_open_bills()
    _pay(finance, vendor, "350.00")
    newer.refresh_from_db()
    assert newer.status == VendorBillStatus.PAID and gl_balance(SystemAccount.PAYABLE) == 0


def test_an_allocated_payment_pays_the_bills_named_and_must_add_up(periods, finance):
    vendor = make_vendor()
    first, second = posted_bill(vendor, "100.00"), posted_bill(vendor, "200.00")
    with pytest.raises(ValidationFailed) as exc:
        _pay(finance, vendor, "150.00", allocations=[{"bill_id": second.pk, "amount": "100.00"}])
    assert "allocations" in exc.value.fields
    _pay(finance, vendor, "150.00", allocations=[{"bill_id": second.pk, "amount": "150.00"}])
    first.refresh_from_db(), second.refresh_from_db()
    assert first.amount_paid == 0 and second.amount_paid == D("150.00")
    with pytest.raises(ValidationFailed) as exc:
        _pay(finance, vendor, "60.00", allocations=[{"bill_id": second.pk, "amount": "60.00"}])
    assert exc.value.fields == {"allocations[0].amount": ["At most 50.00."]}


def test_over_payment_is_refused_and_nothing_is_written(periods, finance):
    vendor = make_vendor()
    posted_bill(vendor, "100.00")
    other_vendor = make_vendor()
    posted_bill(other_vendor, "900.00")
    with pytest.raises(ValidationFailed) as exc:
        _pay(finance, vendor, "100.01")
    assert "over-pay" in exc.value.message and "amount" in exc.value.fields
    assert not VendorPayment.objects.exists()
    assert not JournalEntry.objects.filter(source__startswith="vendor-payment:").exists()


def test_a_payment_settles_only_its_entity_and_currency(periods, finance):
    vendor = make_vendor()
    set_rate("USD", date(2026, 1, 1), "0.90")
    usd_bill = posted_bill(vendor, "100.00", currency="USD")
    uk = entity_create(
        by=finance,
        values={"code": "UK", "series_prefix": "GB", "name": "UK Ltd", "legal_name": "UK Ltd", "country": "GB",
                "functional_currency": "EUR"},
    )  # fmt: skip
    uk_bill = posted_bill(vendor, "100.00", entity=uk)
    with pytest.raises(ValidationFailed):  # nothing open in EUR at the default entity
        _pay(finance, vendor, "10.00")
    with pytest.raises(ValidationFailed) as exc:
        _pay(finance, vendor, "10.00", allocations=[{"bill_id": usd_bill.pk, "amount": "10.00"}])
    assert "allocations[0].bill_id" in exc.value.fields
    _pay(finance, vendor, "10.00", entity=uk)
    uk_bill.refresh_from_db()
    assert uk_bill.amount_paid == D("10.00")
    assert JournalEntry.objects.get(source__startswith="vendor-payment:").entity_id == uk.pk
    _ap_matches_open_bills(uk)
    _ap_matches_open_bills()


def test_a_foreign_currency_payment_realises_the_difference_against_the_booked_rate(periods, finance):
    set_rate("USD", date(2026, 2, 1), "0.90")
    vendor = make_vendor(currency="USD")
    bill = posted_bill(vendor, "1000.00", bill_date=date(2026, 2, 1))
    assert bill.functional_gross == D("900.00")
    set_rate("USD", date(2026, 3, 1), "0.95")
    first = _pay(finance, vendor, "400.00", on=date(2026, 3, 1))
    assert (first.fx_rate, first.functional_amount) == (D("0.95"), D("380.00"))
    assert gl_balance(SystemAccount.PAYABLE) == D("-540.00")
    assert gl_balance(SystemAccount.FX_REALISED_LOSS) == D("20.00")
    _ap_matches_open_bills()
    set_rate("USD", date(2026, 4, 1), "0.85")
    _pay(finance, vendor, "600.00", on=date(2026, 4, 1))
    bill.refresh_from_db()
    assert bill.status == VendorBillStatus.PAID
    assert gl_balance(SystemAccount.PAYABLE) == 0
    assert gl_balance(SystemAccount.FX_REALISED_GAIN) == D("-30.00")
    assert gl_balance(SystemAccount.CASH) == D("-890.00")
    entry = JournalEntry.objects.filter(source__startswith="vendor-payment:").order_by("pk").last()
    usd = {ln.account.code: ln.amount_currency for ln in entry.lines.select_related("account")}
    assert usd[account_code_for(SystemAccount.CASH)] == D("600.00") and usd[
        account_code_for(SystemAccount.PAYABLE)
    ] == D("600.00")


def test_ap_control_equals_the_open_bills_after_partial_and_foreign_payments(periods, finance):
    """Invariant: the GL balance of accounts payable = Σ open bills' functional open amount."""
    set_rate("USD", date(2026, 1, 1), "0.9137")
    eur_vendor, usd_vendor = make_vendor(), make_vendor(currency="USD")
    posted_bill(eur_vendor, "1234.56")
    posted_bill(eur_vendor, "99.99")
    usd_bill = posted_bill(usd_vendor, "777.77")
    posted_bill(usd_vendor, "333.33", bill_date=date(2026, 2, 15))
    _ap_matches_open_bills()
    _pay(finance, eur_vendor, "1000.00")
    set_rate("USD", date(2026, 3, 1), "0.9411")
    _pay(finance, usd_vendor, "123.45", on=date(2026, 3, 1), allocations=[{"bill_id": usd_bill.pk, "amount": "123.45"}])
    _ap_matches_open_bills()
    _pay(finance, usd_vendor, "654.32", on=date(2026, 3, 2))  # the rest of the first USD bill
    usd_bill.refresh_from_db()
    assert usd_bill.status == VendorBillStatus.PAID
    _ap_matches_open_bills()
    assert VendorBill.objects.filter(status=VendorBillStatus.PARTLY_PAID).count() == 1


def test_a_missing_rate_refuses_the_payment_naming_currency_and_date(periods, finance):
    set_rate("USD", date(2026, 2, 1), "0.90")
    vendor = make_vendor(currency="USD")
    posted_bill(vendor, "100.00", bill_date=date(2026, 2, 1))
    with pytest.raises(MissingRate) as exc:
        _pay(finance, vendor, "10.00", on=date(2026, 1, 15))
    assert "USD" in exc.value.message and "2026-01-15" in exc.value.message
    assert not VendorPayment.objects.exists()


@pytest.mark.parametrize("role", ["consultant", "sales", "project_manager"])
def test_only_finance_pays_vendors(periods, make_user, role):
    vendor = make_vendor()
    posted_bill(vendor, "100.00")
    with pytest.raises(PermissionDeniedError):
        _pay(make_user(role), vendor, "10.00")


def test_a_bill_waiting_in_a_payment_run_is_left_to_the_run(periods, finance):
    vendor = make_vendor()
    bill = posted_bill(vendor, "100.00")
    payment_run_propose(entity=entity_default(), bank_account=make_bank_account(), execution_date=date(2026, 3, 5),
                        due_by=date(2026, 12, 31), by=finance)  # fmt: skip
    with pytest.raises(ValidationFailed):
        _pay(finance, vendor, "10.00")
    with pytest.raises(ConflictError):
        _pay(finance, vendor, "10.00", allocations=[{"bill_id": bill.pk, "amount": "10.00"}])


@given(
    gross=st.decimals(min_value=D("0.01"), max_value=D("99999.99"), places=2),
    rate=st.decimals(min_value=D("0.0001"), max_value=D("200"), places=4),
    cuts=st.lists(st.integers(min_value=1, max_value=10_000), min_size=1, max_size=6),
)
@settings(max_examples=200, deadline=None)
def test_the_shares_of_a_bills_payments_add_up_to_its_booked_value(gross, rate, cuts):
    """However a bill is paid in parts, what the parts take off AP sums to its functional gross exactly."""
    functional = convert(amount=gross, rate=Rate(currency="USD", quote="EUR", rate=rate, date=date(2026, 1, 1)))
    bill = VendorBill(currency="USD", gross_total=gross, amount_paid=D("0"), functional_gross=functional)
    total_cuts, running, bounds = sum(cuts), 0, [D("0")]
    for c in cuts:  # cumulative cut points: non-decreasing, the last one the gross
        running += c
        bounds.append(round_money(gross * running / total_cuts))
    parts = [b - a for a, b in pairwise(bounds)]
    taken = D("0")
    for part in parts:
        if part <= 0:
            continue
        taken += bill_share(bill, part)
        bill.amount_paid += part
    assert bill.amount_paid == gross and taken == functional
