"""Sales sees an account's credit standing (hold, AR, overdue, disputes, days to pay) on the account page, the
deal page and the account list; the client disputes an invoice line in the portal and sees it; finance sees the
dispute card on the dashboard and the dispute list (screenshots in the browser folder, looked at)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from billing.services import payment_record
from billing.services.disputes import dispute_open
from crm.models import Contact
from crm.services import credit_hold_place
from psa.web.demo import DEMO_PASSWORD, seed_users
from tests.billing.factories import issued_invoice, make_account, make_periods
from tests.crm.factories import make_deal

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def held(transactional_db):
    from django.contrib.auth import get_user_model

    seed_users()
    make_periods()
    users = get_user_model().objects
    finance, sales = users.get(username="finance"), users.get(username="sales")
    account = make_account(name="Fabrikam Energy", legal_name="Fabrikam Energy AG")
    issued_invoice(finance, "1000.00", account=account, on=date(2026, 1, 5))
    payment_record(by=finance, account_id=account.pk, amount=Decimal("1200.00"), received_on=date(2026, 1, 30))
    late = issued_invoice(finance, "4000.00", account=account, on=date(2026, 2, 1))
    dispute_open(invoice_id=late.pk, by=finance, reason="hours", amount="600.00", description="Week 6 hours")
    credit_hold_place(account_id=account.pk, by=finance, reason=f"{late.number} is more than 60 days overdue.")
    deal = make_deal(owner=sales, account=account, name="Grid analytics phase 2")
    mine = make_account(name="Contoso Retail", legal_name="Contoso Retail GmbH")
    invoice = issued_invoice(finance, "300.00", "700.00", account=mine, on=date.today() - timedelta(days=5))
    Contact.objects.create(account=mine, first_name="Claire", user=users.get(username="client"), portal_access=True)
    return account, deal, invoice


def test_sales_sees_the_hold_and_the_ar_badges_and_the_client_disputes_a_line(held, page, login, screenshot):
    account, deal, invoice = held
    login("sales", DEMO_PASSWORD)
    page.goto(f"/crm/accounts/{account.pk}/")
    page.wait_for_selector("[data-testid=account-ar-panel]")
    assert "Credit hold" in page.locator("[data-testid=account-hold-badge]").inner_text()
    panel = page.locator("[data-testid=account-ar-panel]").inner_text()
    assert "more than 60 days overdue" in panel and "4,800.00" in panel and "600.00" in panel
    assert "25 days" in page.locator("[data-testid=ar-days-to-pay]").inner_text()
    screenshot(page, "credit-account-page")

    page.goto(f"/crm/opportunities/{deal.pk}/")
    page.wait_for_selector("[data-testid=account-ar-panel]")
    assert "cannot be won until finance" in page.locator("[data-testid=credit-hold-banner]").inner_text()
    screenshot(page, "credit-opportunity-page")

    page.goto("/crm/accounts/")
    page.wait_for_selector(f".credit-badge-{account.pk} .text-bg-warning")
    row = page.locator(f".credit-badge-{account.pk}").inner_text()
    assert "Credit hold" in row and "overdue" in row and "1 dispute" in row
    screenshot(page, "credit-account-list")
    assert page.js_errors == []

    page.context.clear_cookies()
    login("client", DEMO_PASSWORD)
    page.goto(f"/portal/invoices/{invoice.pk}/")
    page.click("[data-testid=portal-dispute]")
    page.select_option("#id_reason", "hours")
    page.locator("input[name=lines]").first.check()
    page.fill("#id_description", "The workshop was cancelled.")
    screenshot(page, "dispute-portal-form")
    page.click("[data-testid=dispute-form] button[type=submit]")
    page.wait_for_selector("[data-testid=portal-dispute-table]")
    table = page.locator("[data-testid=portal-dispute-table]").inner_text()
    assert invoice.number in table and "Being reviewed" in table and "360.00" in table
    screenshot(page, "dispute-portal-list")

    page.context.clear_cookies()
    login("finance", DEMO_PASSWORD)
    page.goto("/dashboard/")
    page.wait_for_selector("[data-testid=dispute-summary]")
    assert "2 open" in page.locator("[data-testid=dispute-summary]").inner_text()
    screenshot(page, "dispute-dashboard")
    page.goto("/billing/disputes/?state=open")
    assert page.locator("[data-testid=dispute-table] tbody tr").count() == 2
    screenshot(page, "dispute-list")
    assert page.js_errors == []
