"""The subcontract_mismatch rule: a vendor's consultant whose billed hours in a month differ from the approved
ones beyond the tolerance, once the month ended more than the grace days ago: approved hours with no bill yet and
hours billed with none approved included; dismissed items stay hidden until the hours change."""

from datetime import date
from decimal import Decimal

import pytest

from psa.web.exception_queue import exception_scan, rule_subcontract_mismatch
from psa.web.services import exception_dismiss
from tests.billing.factories import tm_contract
from tests.billing.rebill_factories import (
    approved_sub_time,
    make_subcontractor,
    make_vendor,
    posted_bill,
    subcontract_line,
)

pytestmark = pytest.mark.django_db

AS_OF = date(2026, 3, 20)  # February ended 20 days ago: matched; March not yet
JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)


@pytest.fixture
def setup():
    _contract, line = tm_contract()
    vendor = make_vendor("Northwind")
    return line, vendor, make_subcontractor(vendor, "Sam", "Sub")


def _bill(line, vendor, person, hours, start, end, on=date(2026, 3, 2)):
    net = str(Decimal(hours) * 70)
    return subcontract_line(posted_bill(vendor, on=on), line.contract.project, person, hours, net, start, end)


def test_billed_hours_beyond_the_tolerance_are_flagged_and_within_it_are_not(setup):
    line, vendor, sam = setup
    approved_sub_time(line, sam, date(2026, 2, 3), "20.00")
    _bill(line, vendor, sam, "22.00", FEB, date(2026, 2, 28))

    (item,) = rule_subcontract_mismatch(AS_OF)

    assert item.key == f"subcontract:{vendor.pk}:{sam.pk}:2026-02"
    assert item.title == "Northwind · Sam Sub, Feb 2026: 22.00 h billed, 20.00 h approved"
    assert item.detail == "2.00 h more billed than approved"
    assert (item.amount, item.currency) == (Decimal("140.00"), "EUR")
    assert f"vendor={vendor.pk}" in item.url and "from=2026-02" in item.url
    approved_sub_time(line, sam, date(2026, 2, 4), "1.60")  # 21.60 approved: 0.40 h off, within 0.50
    assert rule_subcontract_mismatch(AS_OF) == []


def test_approved_hours_without_a_bill_and_billed_hours_without_approval_are_both_flagged(setup):
    line, vendor, sam = setup
    approved_sub_time(line, sam, date(2026, 1, 12), "8.00")  # January: never billed
    ann = make_subcontractor(vendor, "Ann", "Other")
    _bill(line, vendor, ann, "5.00", FEB, date(2026, 2, 28))  # February: billed, nothing approved
    approved_sub_time(line, sam, date(2026, 3, 2), "8.00")  # March ended less than 15 days ago: not yet

    items = {i.key: i for i in rule_subcontract_mismatch(AS_OF)}

    assert set(items) == {f"subcontract:{vendor.pk}:{sam.pk}:2026-01", f"subcontract:{vendor.pk}:{ann.pk}:2026-02"}
    assert items[f"subcontract:{vendor.pk}:{sam.pk}:2026-01"].detail == "Approved hours not billed"
    assert items[f"subcontract:{vendor.pk}:{ann.pk}:2026-02"].detail == "Hours billed with none approved"


def test_the_tolerance_and_the_grace_days_are_settings(setup, settings):
    line, vendor, sam = setup
    approved_sub_time(line, sam, date(2026, 2, 3), "20.00")
    _bill(line, vendor, sam, "22.00", FEB, date(2026, 2, 28))
    settings.PSA_EXC_SUBCONTRACT_TOLERANCE_HOURS = "2.00"
    assert rule_subcontract_mismatch(AS_OF) == []
    settings.PSA_EXC_SUBCONTRACT_TOLERANCE_HOURS = "0.50"
    settings.PSA_EXC_SUBCONTRACT_DAYS = 25  # February ended 20 days ago: not matched yet
    assert rule_subcontract_mismatch(AS_OF) == []


def test_a_dismissed_mismatch_stays_hidden_until_the_hours_change(setup, make_user):
    line, vendor, sam = setup
    approved_sub_time(line, sam, date(2026, 2, 3), "20.00")
    _bill(line, vendor, sam, "22.00", FEB, date(2026, 2, 28))
    key = f"subcontract:{vendor.pk}:{sam.pk}:2026-02"
    exception_dismiss(
        by=make_user("finance"), rule="subcontract_mismatch", item_key=key, reason="Agreed travel day", as_of=AS_OF
    )
    scan = exception_scan(as_of=AS_OF, rules=["subcontract_mismatch"])
    assert scan.open["subcontract_mismatch"] == [] and len(scan.hidden) == 1

    approved_sub_time(line, sam, date(2026, 2, 5), "0.50")  # the facts changed: 20.50 approved
    scan = exception_scan(as_of=AS_OF, rules=["subcontract_mismatch"])
    assert [i.key for i in scan.open["subcontract_mismatch"]] == [key]
