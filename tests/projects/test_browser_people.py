"""People pages in Chromium: a project manager adds a subcontractor with skills; finance sets a cost rate and
sees it on the list; the heatmap's demand cell opens the deals behind it."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from crm.models import Vendor
from tests.factories import TEST_PASSWORD, UserFactory
from tests.projects.time_factories import consultant_on, won_project

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_pm_adds_a_subcontractor_and_finance_sets_the_cost_rate(page, login, screenshot, transactional_db):
    pete = UserFactory(username="pete", first_name="Pete", last_name="Manager", roles=["project_manager"])
    UserFactory(username="fiona", first_name="Fiona", last_name="Finance", roles=["finance"])
    setup = won_project(pm=pete)
    consultant_on(setup, user=UserFactory(username="carl", first_name="Carl", last_name="Consultant"))
    Vendor.objects.create(
        name="Nordic Dev", legal_name="Nordic Dev AB", country="SE", currency="EUR", is_subcontractor=True,
        hourly_rate=Decimal("85"),
    )  # fmt: skip
    login("pete", TEST_PASSWORD)
    page.goto("/people/new/")
    page.fill("#id_username", "sven")
    page.fill("#id_first_name", "Sven")
    page.fill("#id_last_name", "Berg")
    page.select_option("#id_role", label=setup.role.name)
    page.fill("#id_weekly_capacity", "200")
    page.fill("#id_skills", "Kotlin: 4\nAndroid 5")
    page.click("[data-testid=person-form] button[type=submit]")
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    screenshot(page, "people-01-form-errors")
    page.fill("#id_weekly_capacity", "32")
    page.fill("#id_skills", "Kotlin: 4\nAndroid: 5")
    page.select_option("#id_vendor", label="Nordic Dev")
    page.click("[data-testid=person-form] button[type=submit]")
    expect(page.locator("[data-testid=subcontractor-badge]")).to_contain_text("Nordic Dev")
    assert page.locator("[data-testid=cost-rates]").count() == 0  # a PM sees no cost rate
    screenshot(page, "people-02-person-pm")

    page.context.clear_cookies()
    login("fiona", TEST_PASSWORD)
    page.goto("/people/")
    page.get_by_role("link", name="Sven Berg").click()
    page.fill("[data-testid=cost-rate-form] #id_rate", "88")
    page.fill("[data-testid=cost-rate-form] #id_valid_from", "2026-01-01")
    page.click("[data-testid=cost-rate-form] button[type=submit]")
    expect(page.locator("[data-testid=cost-rates]")).to_contain_text("88.00")
    screenshot(page, "people-03-person-finance")
    page.goto("/people/")
    expect(page.locator("[data-testid=people-table]")).to_contain_text("Nordic Dev")
    screenshot(page, "people-04-list-finance")
    assert page.js_errors == []
