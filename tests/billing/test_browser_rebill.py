"""Finance looks at the subcontractor hours match and at an invoice that re-bills a vendor cost (screenshots)."""

from datetime import date

import pytest
from django.db import transaction

from billing.services import invoice_draft_for_contract
from psa.web.demo import DEMO_PASSWORD, seed_users
from tests.billing.factories import approved_entry, make_consultant, make_periods, tm_contract
from tests.billing.rebill_factories import (
    approved_sub_time,
    make_subcontractor,
    make_vendor,
    posted_bill,
    rebillable_line,
    subcontract_line,
)

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_finance_sees_the_hours_match_and_the_vendor_behind_a_re_billed_cost(page, login, screenshot):
    seed_users()
    make_periods()
    contract, line = tm_contract()
    approved_entry(line, make_consultant(), date(2026, 1, 5), "8.00", "150")
    vendor = make_vendor("Northwind Consulting")
    sam = make_subcontractor(vendor, "Sam", "Sub")
    approved_sub_time(line, sam, date(2026, 1, 12), "20.00")
    bill = posted_bill(vendor, on=date(2026, 1, 20), number="NW-2026-01")
    subcontract_line(bill, contract.project, sam, "22.00", "1540.00", date(2026, 1, 1), date(2026, 1, 31))
    rebillable_line(bill, line, "200.00", rebill="230.00", description="Test devices")
    with transaction.atomic():
        invoice = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))

    login("finance", DEMO_PASSWORD)
    page.goto("/billing/subcontract-match/?from=2026-01&to=2026-01")
    row = page.locator("[data-testid=match-row]")
    assert row.count() == 1 and "Sam Sub" in row.inner_text() and "2.00" in row.inner_text()
    screenshot(page, "billing-subcontract-match")
    page.goto(f"/billing/invoices/{invoice.pk}/")
    trace = page.locator("[data-testid=vendor-cost]")
    assert "Northwind Consulting bill NW-2026-01" in trace.inner_text()
    screenshot(page, "billing-invoice-vendor-cost")
    assert page.js_errors == []
