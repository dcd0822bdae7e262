"""Subcontractor hours matching: per vendor, consultant and month, the approved hours (and their cost at the
snapshot rates) against the hours the vendor's posted bills charge (a line spanning months pro-rated by calendar
days); the page and the API for finance, a fixed number of queries whatever the data."""

from datetime import date
from decimal import Decimal

import pytest

from billing.choices import VendorBillStatus
from billing.selectors.subcontract_match import match_months, subcontract_match
from psa.core.exceptions import ValidationFailed
from tests.billing.factories import tm_contract
from tests.billing.rebill_factories import (
    approved_sub_time,
    make_subcontractor,
    make_vendor,
    posted_bill,
    subcontract_line,
)
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db
D = Decimal
JAN, FEB = date(2026, 1, 1), date(2026, 2, 1)


def _row(rows, consultant, month):
    return next(r for r in rows if r.consultant_id == consultant.pk and r.month == month)


def test_approved_hours_and_their_cost_are_matched_with_the_hours_and_net_billed_per_month():
    _contract, line = tm_contract()
    vendor = make_vendor("Northwind")
    sam = make_subcontractor(vendor, "Sam", "Sub")
    approved_sub_time(line, sam, date(2026, 1, 5), "8.00")
    approved_sub_time(line, sam, date(2026, 1, 6), "7.50")
    approved_sub_time(line, sam, date(2026, 1, 7), "4.00", status="submitted")  # not approved: not counted
    bill = posted_bill(vendor, on=date(2026, 2, 2))
    subcontract_line(bill, line.contract.project, sam, "16.00", "1120.00", JAN, date(2026, 1, 31))

    (row,) = subcontract_match(start=JAN, end=date(2026, 1, 31))

    assert (row.vendor, row.consultant, row.month) == ("Northwind", "Sam Sub", JAN)
    assert (row.approved_hours, row.billed_hours, row.hours_difference) == (D("15.50"), D("16.00"), D("0.50"))
    assert (row.accrued, row.billed, row.amount_difference) == (D("1085.00"), D("1120.00"), D("35.00"))
    assert row.bill_ids == [bill.pk]


def test_a_line_spanning_two_months_is_pro_rated_by_calendar_days_and_its_parts_sum_back():
    _contract, line = tm_contract()
    vendor = make_vendor()
    sam = make_subcontractor(vendor)
    bill = posted_bill(vendor, on=date(2026, 2, 20))
    # 16 January - 15 February: 16 days in January, 15 in February (31 days).
    subcontract_line(bill, line.contract.project, sam, "62.00", "4340.00", date(2026, 1, 16), date(2026, 2, 15))

    rows = subcontract_match(start=JAN, end=date(2026, 2, 28))

    jan, feb = _row(rows, sam, JAN), _row(rows, sam, FEB)
    assert (jan.billed_hours, feb.billed_hours) == (D("32.00"), D("30.00"))
    assert (jan.billed, feb.billed) == (D("2240.00"), D("2100.00"))
    assert (jan.approved_hours, jan.hours_difference) == (D("0"), D("32.00"))
    only_feb = subcontract_match(start=FEB, end=date(2026, 2, 28))
    assert [(r.month, r.billed_hours) for r in only_feb] == [(FEB, D("30.00"))]


def test_only_posted_bills_of_the_vendor_asked_for_count_and_employees_are_left_out():
    _contract, line = tm_contract()
    north, south = make_vendor("North"), make_vendor("South")
    sam, sue = make_subcontractor(north, "Sam"), make_subcontractor(south, "Sue")
    approved_sub_time(line, sue, date(2026, 1, 8), "3.00")
    draft = posted_bill(north, status=VendorBillStatus.AWAITING_APPROVAL)
    subcontract_line(draft, line.contract.project, sam, "10.00", "700.00", JAN, date(2026, 1, 31))
    paid = posted_bill(north, status=VendorBillStatus.PAID)
    subcontract_line(paid, line.contract.project, sam, "2.00", "140.00", JAN, date(2026, 1, 31))

    rows = subcontract_match(start=JAN, end=date(2026, 1, 31), vendor_id=north.pk)

    assert [(r.consultant_id, r.billed_hours, r.approved_hours) for r in rows] == [(sam.pk, D("2.00"), D("0"))]
    assert {r.vendor_id for r in subcontract_match(start=JAN, end=date(2026, 1, 31))} == {north.pk, south.pk}


def test_costs_in_another_currency_than_the_bill_give_no_amount_difference():
    _contract, line = tm_contract()
    vendor = make_vendor()
    sam = make_subcontractor(vendor)
    sam.cost_currency = "GBP"
    sam.save(update_fields=["cost_currency"])
    approved_sub_time(line, sam, date(2026, 1, 5), "1.00")
    subcontract_line(posted_bill(vendor), line.contract.project, sam, "1.00", "70.00", JAN, date(2026, 1, 31))
    (row,) = subcontract_match(start=JAN, end=date(2026, 1, 31))
    assert row.amount_difference is None and (row.accrued_currency, row.billed_currency) == ("GBP", "EUR")


def test_the_months_asked_for_are_checked_and_named_when_wrong():
    today = date(2026, 5, 10)
    assert match_months(None, None, today=today) == (date(2026, 2, 1), date(2026, 4, 30))
    assert match_months("2026-01", "2026-01", today=today) == (JAN, date(2026, 1, 31))
    for raw_from, raw_to, name in (
        ("2026-13", None, "from"),
        ("2026-03", "2026-01", "to"),
        ("2020-01", "2026-01", "from"),
    ):
        with pytest.raises(ValidationFailed) as exc:
            match_months(raw_from, raw_to, today=today)
        assert name in exc.value.fields


def _firm(n):
    _contract, line = tm_contract()
    for i in range(n):
        vendor = make_vendor(f"Vendor {i}")
        person = make_subcontractor(vendor, f"P{i}")
        approved_sub_time(line, person, date(2026, 1, 5), "8.00")
        bill = posted_bill(vendor, on=date(2026, 2, 2))
        subcontract_line(bill, line.contract.project, person, "8.00", "560.00", date(2026, 1, 16), date(2026, 2, 15))


def test_the_match_costs_the_same_queries_for_more_vendors_people_and_bills():
    _firm(1)
    small, rows = count_queries(lambda: subcontract_match(start=JAN, end=date(2026, 2, 28)))
    _firm(6)
    large, more = count_queries(lambda: subcontract_match(start=JAN, end=date(2026, 2, 28)))
    assert (len(rows), len(more)) == (2, 14)
    assert small == large


def test_the_page_lists_the_rows_for_finance_with_a_fixed_query_count(client_as):
    client = client_as("finance")
    url = "/billing/subcontract-match/?from=2026-01&to=2026-02"
    _firm(1)
    small, response = count_queries(lambda: client.get(url), status=200)
    assert b'data-testid="match-row"' in response.content
    _firm(6)
    large, response = count_queries(lambda: client.get(url), status=200)
    assert response.content.count(b'data-testid="match-row"') == 14
    assert large == small


def test_the_page_shows_a_wrong_month_in_plain_words_and_falls_back(client_as):
    response = client_as("finance").get("/billing/subcontract-match/?from=2026-99")
    assert response.status_code == 200
    assert b"is not a month" in response.content and b"is-invalid" in response.content


@pytest.mark.parametrize("role", ["consultant", "sales", "project_manager", "client"])
def test_the_page_and_the_api_are_refused_to_other_roles(client_as, api_as, role):
    assert client_as(role).get("/billing/subcontract-match/").status_code in (302, 403)
    assert api_as(role).get("/api/v1/billing/subcontract-match/").status_code == 403


def test_the_api_lists_the_rows_paginated_with_a_fixed_query_count_and_refuses_bad_filters(api_as):
    api = api_as("finance")
    url = "/api/v1/billing/subcontract-match/?from=2026-01&to=2026-02"
    _firm(1)
    api.get(url)  # the first request of a token also records its use
    small, response = count_queries(lambda: api.get(url), status=200)
    first = response.json()["results"][0]
    assert (first["month"], first["approved_hours"], first["billed_hours"]) == ("2026-01-01", "8.00", "4.13")
    _firm(6)
    large, response = count_queries(lambda: api.get(url), status=200)
    assert response.json()["count"] == 14 and large == small
    bad = api.get("/api/v1/billing/subcontract-match/?vendor=999999")
    assert bad.status_code == 400 and "vendor" in bad.json()["fields"]
    assert api.get("/api/v1/billing/subcontract-match/?from=x").status_code == 400
    for raw in ("²", "99999999999999999999", "-1"):
        assert api.get(f"/api/v1/billing/subcontract-match/?vendor={raw}").status_code == 400
