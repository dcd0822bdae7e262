"""Go-live import of open vendor bills: refused rows named with their rule, bills that AP aging and payments work
on, the AP control reconciliation, and the rollback."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, InternalError, transaction

from billing.choices import VendorBillStatus
from billing.models import VendorBill
from billing.selectors.golive import golive_reconciliation
from billing.selectors.payables import ap_aging
from billing.services.golive import golive_rollback
from billing.services.vendor_payments import vendor_payment_record
from ledger.choices import SystemAccount
from psa.core.entities import entity_default
from tests.billing.open_items_factories import errors, make_golive, opening_balance, run
from tests.billing.payables_factories import make_vendor

pytestmark = pytest.mark.django_db
D = Decimal


def _bill(**kw) -> dict:
    row = {"vendor": "V-1", "number": "INV-1", "bill_date": "2026-03-01", "due_date": "2026-03-31",
           "amount": "1200.00"}  # fmt: skip
    row.update(kw)
    return row


def test_the_dry_run_names_every_bad_bill_and_writes_nothing(periods, finance):
    vendor = make_vendor(external_id="V-1")
    VendorBill.objects.create(
        vendor=vendor, number="INV-7", bill_date=date(2026, 2, 1), due_date=date(2026, 3, 1), net_total=D("10"),
        gross_total=D("10"),
    )  # fmt: skip
    golive = make_golive(finance)
    rows = [
        _bill(vendor="Nobody"),  # 2
        _bill(number="inv-7"),  # 3: PSA has INV-7 of this vendor
        _bill(number="INV-8"),  # 4: good
        _bill(number="inv-8"),  # 5: the same number again
        _bill(number="INV-9", bill_date="2026-04-01", due_date="2026-05-01"),  # 6: on the cut-over
        _bill(number="INV-10", amount_paid="1200.00"),  # 7: paid, not open
        _bill(number="INV-11", due_date="2026-02-01"),  # 8
        _bill(number="INV-12", net_amount="1000.00", tax_amount="100.00"),  # 9: 1,100 is not 1,200
    ]
    report = run(golive, "vendor_bills", rows, finance, dry_run=True)
    found = {n: rule for n, (rule, _) in errors(report).items()}
    assert found == {
        2: "unknown_vendor",
        3: "duplicate_bill_number",
        5: "duplicate_bill_number",
        6: "on_or_after_cutover",
        7: "amount_paid",
        8: "due_before_bill_date",
        9: "amounts",
    }
    assert VendorBill.objects.count() == 1


def test_open_bills_are_aged_paid_and_reconcile_with_the_ap_control_account(periods, finance):
    vendor = make_vendor(external_id="V-1")
    golive = make_golive(finance)
    rows = [
        _bill(net_amount="1000.00", tax_amount="200.00"),
        _bill(number="INV-2", amount="600.00", amount_paid="100.00", due_date="2026-03-15"),
    ]
    report = run(golive, "vendor_bills", rows, finance, dry_run=False)
    assert report.created == 2, report.rows
    first, second = VendorBill.objects.order_by("number")
    assert (first.status, first.opening, first.functional_gross) == (VendorBillStatus.POSTED, True, D("1200.00"))
    assert (second.status, second.open_amount) == (VendorBillStatus.PARTLY_PAID, D("500.00"))
    aging = ap_aging(as_of=date(2026, 4, 1)).by_currency()["EUR"]
    assert aging.bills == 2 and aging.current + aging.d1_30 + aging.d31_60 + aging.d61_90 + aging.d90 == D("1700.00")

    ap = next(c for c in golive_reconciliation(golive) if c.group == "Payables")
    assert not ap.ok and any("1,700.00" in row for row in ap.rows)  # no opening balance in the GL yet
    opening_balance(golive, SystemAccount.PAYABLE, "1700.00", credit=True)
    ap = next(c for c in golive_reconciliation(golive) if c.group == "Payables")
    assert ap.ok, ap.rows

    vendor_payment_record(vendor=vendor, entity=entity_default(), paid_on=date(2026, 4, 10), amount="500.00",
                          allocations=[{"bill_id": second.pk, "amount": "500.00"}], by=finance)  # fmt: skip
    second.refresh_from_db()
    assert second.status == VendorBillStatus.PAID
    assert next(c for c in golive_reconciliation(golive) if c.group == "Payables").ok


def test_rollback_deletes_the_opening_bills_but_a_bill_posted_in_psa_stays_undeletable(periods, finance):
    vendor = make_vendor(external_id="V-1")
    golive = make_golive(finance)
    run(golive, "vendor_bills", [_bill()], finance, dry_run=False)
    golive_rollback(golive=golive, user=finance)
    assert not VendorBill.objects.exists()

    posted = VendorBill.objects.create(
        vendor=vendor, number="PSA-1", bill_date=date(2026, 5, 1), due_date=date(2026, 5, 31), net_total=D("10"),
        gross_total=D("10"), status=VendorBillStatus.POSTED,
    )  # fmt: skip
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
        VendorBill.objects.filter(pk=posted.pk).delete()
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
        VendorBill.objects.filter(pk=posted.pk).update(opening=True)
