"""The pages this round changed, in Chromium at 1440 and 390 px: the expense form filled in, a refused change
order kept open with what was typed, the dunning preview, the dashboard's titled charts and the preferences
page; each without JavaScript errors, saved as screenshots to look at."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from projects.services import expenses as ex
from tests.billing.factories import issued_invoice, make_periods
from tests.factories import TEST_PASSWORD, UserFactory
from tests.projects.time_factories import MONDAY, consultant_on, won_project

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = ((1440, 900), (390, 844))


@pytest.fixture
def firm(transactional_db):
    make_periods()
    fiona = UserFactory(username="fiona", first_name="Fiona", last_name="Finance", roles=["finance"])
    issued_invoice(fiona, "1000.00")
    pm = UserFactory(username="pete", first_name="Pete", last_name="Manager", roles=["project_manager"])
    setup = won_project(pm=pm)
    carl = consultant_on(
        setup, user=UserFactory(username="carl", first_name="Carl", last_name="C", roles=["consultant"])
    )
    ex.expense_create(
        by=carl.user, consultant_id=carl.pk, project_id=setup.project.pk, day=MONDAY, category="travel",
        amount="80", currency="EUR", receipt=SimpleUploadedFile("r.pdf", b"%PDF-1.4 x"),
    )  # fmt: skip
    return setup


def _both_widths(page, screenshot, name):
    for width, height in WIDTHS:
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"{name}-{width}")


def test_the_consultants_expense_form_and_preferences(page, login, screenshot, firm):
    login("carl", TEST_PASSWORD)
    page.goto("/expenses/")
    assert page.locator("#id_currency").evaluate("e => e.tagName") == "SELECT"
    assert page.locator("#id_project").input_value() == str(firm.project.pk)
    _both_widths(page, screenshot, "forms-expenses")
    page.goto("/settings/preferences/")
    _both_widths(page, screenshot, "forms-preferences")
    assert page.js_errors == []


def test_a_refused_change_order_stays_open_with_what_was_typed(page, login, screenshot, firm):
    login("pete", TEST_PASSWORD)
    page.goto(f"/projects/{firm.project.pk}/")
    page.click("[data-bs-target='#co-form']")
    page.fill("#id_co-title", "Extra workshop")
    page.select_option("#id_co-action", "add")
    page.fill("#id_co-value_delta", "5")
    page.click("[data-testid=co-form] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#id_co-title").input_value() == "Extra workshop"
    assert page.locator("#co-form").is_visible()
    page.locator("#change-orders").scroll_into_view_if_needed()
    _both_widths(page, screenshot, "forms-change-order-refused")
    # The refused form answers 400 (as every refused form does); Chromium logs that status, nothing else.
    assert all("400" in e for e in page.js_errors)


def test_finance_previews_reminders_and_sees_the_dashboard(page, login, screenshot, firm):
    login("fiona", TEST_PASSWORD)
    page.goto("/billing/ar/")
    page.click("[data-testid=dunning-send]")
    page.wait_for_selector("[data-testid=dunning-due]")
    _both_widths(page, screenshot, "forms-dunning-preview")
    page.goto("/dashboard/")
    page.wait_for_selector("[data-testid=chart-title]")
    _both_widths(page, screenshot, "forms-dashboard")
    assert page.js_errors == []
