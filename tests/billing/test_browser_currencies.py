"""Finance looks at the billing preview, AR aging and the dashboard with EUR and USD figures: each currency is
shown with its code and the total in EUR names its rate and date (screenshots in the browser folder)."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from billing.models import BillingRun
from billing.services import invoice_draft_for_contract, invoice_issue
from psa.core.models import ExchangeRate
from psa.web.demo import DEMO_PASSWORD, seed_users
from tests.billing.factories import make_account, make_periods, milestone_contract

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_currencies(transactional_db):
    from django.contrib.auth import get_user_model

    seed_users()
    make_periods()
    finance = get_user_model().objects.get(username="finance")
    ExchangeRate.objects.create(currency="USD", quote="EUR", date=date(2026, 1, 2), rate=Decimal("0.92"))
    euro = make_account(name="Contoso Retail")
    dollar = make_account(name="Tailspin Toys Inc", currency="USD")
    for account, amount in ((euro, "12000.00"), (dollar, "6000.00")):
        contract, _, _ = milestone_contract(amount, account=account)
        with transaction.atomic():
            draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
        invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 1))
    milestone_contract("1500.00", account=euro, on=date(2026, 2, 20))
    milestone_contract("2500.00", account=dollar, on=date(2026, 2, 20))
    return BillingRun.objects.create(period_end=date(2026, 2, 28), scope="all", created_by=finance)


def test_finance_sees_per_currency_figures_and_converted_totals(two_currencies, page, login, screenshot):
    run = two_currencies
    login("finance", DEMO_PASSWORD)
    page.goto(f"/billing/runs/{run.pk}/")
    net = page.locator("[data-testid=preview-net]")
    assert "EUR 3,800.00" in net.inner_text()
    assert "EUR 1,500.00 · USD 2,500.00" in net.inner_text() and "1 USD = 0.92 EUR" in net.inner_text()
    screenshot(page, "fx-billing-preview")

    page.goto("/billing/ar/?as_of=2026-02-15")
    assert "EUR 21,024.00" in page.locator("[data-testid=ar-open]").inner_text()  # 14,400 + 7,200 x 0.92 (6,624)
    assert page.locator("[data-testid=aging-total-USD]").inner_text().split("\t")[:3] == [
        "Total USD",
        "USD",
        "7,200.00",
    ]
    assert "rates of 2026-01-02" in page.locator("[data-testid=aging-rates]").inner_text()
    screenshot(page, "fx-ar-aging")

    page.goto("/dashboard/?start=2026-01-01&end=2026-03-31")
    billed = page.locator("[data-testid=currency-billed]").inner_text()
    assert "EUR 12,000.00 · USD 6,000.00 → EUR 17,520.00" in billed
    screenshot(page, "fx-dashboard")
    assert not page.js_errors
