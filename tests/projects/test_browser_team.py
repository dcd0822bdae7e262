"""The PM changes an allocation in the project page's team panel in Chromium."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from projects.models import Allocation
from tests.factories import TEST_PASSWORD, UserFactory
from tests.projects.time_factories import consultant_on, won_project

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_pm_changes_hours_on_the_team_panel(page, login, screenshot, transactional_db):
    pm = UserFactory(username="pete", first_name="Pete", last_name="Manager", roles=["project_manager"])
    setup = won_project(pm=pm)
    consultant_on(setup, user=UserFactory(username="carl", first_name="Carl", last_name="Consultant"))
    consultant_on(setup, user=UserFactory(username="dana", first_name="Dana", last_name="Lead"), hours=Decimal("16"))
    login("pete", TEST_PASSWORD)
    page.goto(f"/projects/{setup.project.pk}/#team")
    team = page.locator("[data-testid=team]")
    expect(team).to_contain_text("Carl Consultant")
    row = team.locator("tr", has_text="Dana Lead")
    row.locator("input[name=hours_per_week]").fill("12")
    row.locator("[data-testid=allocation-save]").click()
    expect(page.locator(".psa-messages")).to_contain_text("Changed Dana Lead's allocation")
    screenshot(page, "project-team-panel")
    assert Allocation.objects.get(consultant__user__username="dana").hours_per_week == Decimal("12.00")

    # The estimate panel (ledger's, loaded over HTMX): a refused estimate shows inline, a good one updates it.
    panel = page.locator("[data-testid=estimate-panel]")
    panel.locator("#id_etc_hours").fill("-3")
    panel.locator("[data-testid=estimate-save]").click()
    expect(page.locator("[data-testid=estimate-error]")).to_contain_text("cannot be negative")
    page.locator("[data-testid=estimate-panel] #id_etc_hours").fill("80")
    page.locator("[data-testid=estimate-panel] [data-testid=estimate-save]").click()
    expect(page.locator("[data-testid=eac-hours]")).to_have_text("80.00")
    screenshot(page, "project-estimate-panel")
    assert page.js_errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"], (
        page.js_errors
    )
