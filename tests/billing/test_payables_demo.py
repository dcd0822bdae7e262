"""The payables demo: vendors (a reverse-charge agency with two subcontractors, a domestic firm, a US software
supplier, a supplier without VAT id), their bills posted through the services, the AP control reconciled, and a
second seed that changes nothing."""

import pytest

from billing import demo
from billing.choices import PurchaseTax, VendorBillStatus
from billing.models import VendorBill
from billing.selectors.payables import ap_control
from crm.models import Vendor
from projects.models import Consultant, TimeEntry
from psa.core.entities import entity_default_id
from psa.web.demo import seed_users

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_the_demo_has_vendors_subcontractors_and_posted_bills_that_reconcile(de_seller):
    seed_users()
    demo.seed()
    assert Vendor.objects.count() == 4
    people = Consultant.objects.filter(vendor__external_id="demo-vendor-lumiere")
    assert people.count() == 2
    agency_bills = VendorBill.objects.filter(vendor__external_id="demo-vendor-lumiere", status=VendorBillStatus.POSTED)
    assert agency_bills.count() == 2 and {b.purchase_tax for b in agency_bills} == {PurchaseTax.REVERSE_CHARGE}
    for bill in agency_bills:  # each bills exactly the approved hours of its month
        line = bill.lines.first()
        hours = sum(e.hours for e in TimeEntry.objects.filter(
            consultant=line.consultant, date__gte=line.period_start, date__lte=line.period_end))  # fmt: skip
        assert line.hours == hours
    assert VendorBill.objects.filter(lines__kind="rebillable", lines__rebill_amount__isnull=False).exists()
    assert VendorBill.objects.filter(status=VendorBillStatus.AWAITING_APPROVAL).count() == 1
    assert ap_control(entity_id=entity_default_id()).reconciled
    before = VendorBill.objects.count()
    demo.seed()
    assert VendorBill.objects.count() == before
