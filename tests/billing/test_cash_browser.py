"""Finance looks at the collections list (ordered by expected loss, with the back-test) and the cash forecast
(chart, table, a scenario leaving a deal out, the staffing gap) in a real browser; screenshots in the browser
folder."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from billing.services import payment_record
from crm import services as crm_services
from crm.choices import BillingModel
from psa.core.models import ExchangeRate
from psa.web.demo import DEMO_PASSWORD, seed_users
from tests.billing.factories import issued_invoice, make_account, make_periods
from tests.crm.factories import ensure_default_stages

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]
D = Decimal


@pytest.fixture
def firm(transactional_db):
    from django.contrib.auth import get_user_model

    seed_users()
    make_periods()
    ensure_default_stages()
    users = get_user_model().objects
    finance = users.get(username="finance")
    ExchangeRate.objects.create(currency="USD", quote="EUR", date=date(2026, 1, 2), rate=D("0.92"))
    habits = [
        (make_account(name=name), late)
        for name, late in (("Prompt Payers GmbH", -2), ("Slow Freight Inc", 38), ("Average Retail", 9))
    ]
    for month in range(1, 13):  # invoice numbers are chronological: month by month
        for account, late in habits:
            invoice = issued_invoice(finance, f"{1000 + 150 * month}.00", account=account, on=date(2025, month, 1))
            payment_record(
                by=finance, account_id=account.pk, amount=invoice.balance,
                received_on=invoice.due_date + timedelta(days=late + month % 5),
                allocations=[{"invoice_id": invoice.pk, "amount": invoice.balance}],
            )  # fmt: skip
    for month in (1, 2):
        for account, _ in habits:
            issued_invoice(finance, f"{4000 * month}.00", account=account, on=date(2026, month, 2))
    crm_services.opportunity_create(
        by=users.get(username="sales"), account=make_account(name="Tailspin Toys Inc", currency="USD"),
        name="Analytics roll-out", expected_close_date=date(2026, 3, 20), probability=60, currency="USD",
        service_start=date(2026, 4, 1), service_end=date(2026, 8, 31), payment_terms_days=30,
        lines=[{"description": "Roll-out", "billing_model": BillingModel.FIXED_FEE, "price": D("50000.00")}],
    )  # fmt: skip


def test_finance_reads_collections_and_the_cash_forecast(firm, page, login, screenshot):
    page.set_default_timeout(90000)  # the shared CI box runs several suites at once; the model fits on first view
    login("finance", DEMO_PASSWORD)
    page.goto("/billing/collections/?as_of=2026-03-10")
    rows = page.locator("[data-testid=collections-table] tbody tr")
    assert rows.count() == 6
    assert "Slow Freight Inc" in rows.first.inner_text()
    assert "days" in page.locator("[data-testid=backtest]").inner_text()
    screenshot(page, "cash-collections")

    page.goto("/billing/cash/forecast/?as_of=2026-03-10")
    assert page.locator("[data-testid=forecast-table] [data-row=pipeline]").count() == 1
    assert "1 USD = 0.92 EUR" in page.locator("[data-testid=forecast-rates]").inner_text()
    screenshot(page, "cash-forecast-months")
    page.locator("[data-deal] input[name=out]").check()
    page.locator("[data-testid=scenario-apply]").click()
    page.wait_for_selector("[data-testid=impact-table]")
    assert "from 10 Mar 2026" in page.locator("h1").inner_text()  # the scenario keeps the forecast's day
    impact = page.locator("[data-testid=impact-table]").inner_text()
    assert "-" in impact  # leaving the deal out takes its receipts away
    screenshot(page, "cash-forecast-scenario")
    page.locator("[data-testid=by-week]").click()
    page.wait_for_url("**by=week**")
    screenshot(page, "cash-forecast-weeks")
