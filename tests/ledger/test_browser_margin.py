"""Finance in Chromium reads one project margin on the margin report (with its reconciliation to the P&L) and on
the account page; a sales rep reads past projects' realised margin % and effective rate on the opportunity page
(screenshots in tests/browser/screenshots/)."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from playwright.sync_api import expect

from crm.choices import ServiceType
from ledger.services.intercompany import recharge_run, transfer_rate_create
from projects.models import Project, ProjectTemplate
from psa.web.demo import DEMO_PASSWORD, seed_users
from tests.crm.factories import make_deal
from tests.ledger.factories import make_periods
from tests.ledger.intercompany_factories import approved, three_entities
from tests.ledger.test_project_margin import labour_cost, revenue, vendor_bill

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def firm(transactional_db):
    with override_settings(PSA_FUNCTIONAL_CURRENCY="EUR"):
        seed_users()
        make_periods()
        firm = three_entities()
        template = ProjectTemplate.objects.create(name="Implementation", service_type=ServiceType.IMPLEMENTATION)
        Project.objects.filter(pk=firm.project.pk).update(template=template)
        approved(firm.uk_consultant, firm.project, date(2026, 3, 2), "8")
        approved(firm.uk_consultant, firm.project, date(2026, 3, 3), "8")
        approved(firm.uk_consultant, firm.project, date(2026, 3, 4), "2")  # not costed by the run yet
        transfer_rate_create(by=get_user_model().objects.get(username="finance"), supplier_id=firm.uk.pk,
                             receiver_id=firm.de.pk, markup_percent="10", valid_from=date(2026, 1, 1))  # fmt: skip
        revenue(firm.de, firm.project, "3000.00")
        labour_cost(firm.uk, firm.project, "960.00")
        vendor_bill(firm.de, firm.project, "200.00")
        recharge_run(month=date(2026, 3, 1))
        firm.deal = make_deal(owner=get_user_model().objects.get(username="sales"), account=firm.client)
        yield firm


def test_finance_and_sales_read_one_margin(page, login, screenshot, firm):
    login("finance", DEMO_PASSWORD)
    page.goto("/ledger/revenue/reports/margin/?start=2026-03-01&end=2026-03-31")
    expect(page.locator("[data-testid=margin-totals]")).to_contain_text("1,840.00")
    expect(page.locator("[data-testid=margin-reconciliation]")).to_contain_text("reconciles")
    expect(page.locator("[data-testid=unposted]").first).to_contain_text("120.00")
    assert not page.js_errors
    screenshot(page, "margin-report")

    page.goto(f"/crm/accounts/{firm.client.pk}/")
    expect(page.locator("[data-testid=account-margin-total]")).to_contain_text("1,840.00")
    screenshot(page, "margin-account-panel")

    page.goto(f"/projects/{firm.project.pk}/")
    expect(page.locator("[data-testid=project-margin]")).to_contain_text("1,840.00")

    page.context.clear_cookies()
    login("sales", DEMO_PASSWORD)
    page.goto(f"/crm/opportunities/{firm.deal.pk}/")
    expect(page.locator("[data-testid=realised-account]")).to_contain_text("61.3%")
    expect(page.locator("[data-testid=realised-service-type]")).to_contain_text("Implementation")
    assert not page.js_errors
    screenshot(page, "margin-opportunity-panel")
