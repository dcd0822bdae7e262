"""Finance enters a vendor bill with two lines, sends it for approval; the project's manager finds it in the
queue and approves it for their project; finance approves and posts it and sees its journal entry; the AP page
shows it open and the control reconciled."""

import pytest
from django.contrib.auth import get_user_model

from psa.web.demo import DEMO_PASSWORD, seed_users
from tests.billing.factories import make_periods
from tests.billing.payables_factories import cost_accounts, gb_entity, make_vendor, managed_project

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def firm(transactional_db):
    seed_users()
    make_periods()
    cost_accounts()
    gb_entity()
    pm = get_user_model().objects.get(username="pm")
    project, _, _ = managed_project(pm=pm)
    return make_vendor(name="Kraft Digital"), project


def test_a_bill_goes_from_entry_through_both_approvals_to_the_books(firm, page, login, screenshot, live_server):
    vendor, project = firm
    login("finance", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/billing/vendor-bills/new/?vendor={vendor.pk}")
    page.fill("#id_number", "KD-2026-118")
    page.fill("#id_bill_date", "2026-02-10")
    page.select_option("#id_lines-0-kind", "project_cost")
    page.fill("#id_lines-0-description", "UX review, 3 days")
    page.fill("#id_lines-0-net_amount", "2400.00")
    page.fill("#id_lines-0-tax_rate", "20")
    page.click("button[name=add_line]")
    page.select_option("#id_lines-1-kind", "project_cost")
    page.fill("#id_lines-1-description", "Travel")
    page.fill("#id_lines-1-net_amount", "385.40")
    page.click("text=Save as draft")
    assert "A project cost needs the project it is for." in page.content()
    screenshot(page, "vendor-bill-form-errors")
    page.select_option("#id_lines-0-project", str(project.pk))
    page.select_option("#id_lines-1-project", str(project.pk))
    page.click("text=Save as draft")
    page.click("[data-testid=bill-submit]")
    assert "Awaiting approval" in page.locator("[data-testid=bill-status]").inner_text()
    screenshot(page, "vendor-bill-waiting")

    page.context.clear_cookies()
    login("pm", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/billing/vendor-bills/waiting/")
    page.click("text=KD-2026-118")
    page.click("[data-testid=bill-approve]")
    assert "approved by" in page.locator("[data-testid=bill-approvals]").inner_text()

    page.context.clear_cookies()
    login("finance", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/billing/vendor-bills/waiting/")
    page.click("text=KD-2026-118")
    page.click("[data-testid=bill-approve]")
    assert "Approved and posted" in page.locator("[data-testid=bill-status]").inner_text()
    assert page.locator("[data-testid=bill-entry] a").count() == 1
    screenshot(page, "vendor-bill-posted")
    page.goto(f"{live_server.url}/billing/ap/?as_of=2026-03-01")
    assert "Reconciled" in page.locator("[data-testid=ap-reconciled]").inner_text()
    screenshot(page, "ap-aging")
