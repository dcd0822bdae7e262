"""The PM opens a project page and sees budget against actual: the burn bar, the figures and the burn-down."""

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.factories import TEST_PASSWORD, UserFactory
from tests.projects.test_budget import consultant, entry, hand_built

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_pm_sees_the_budget_panel_with_its_burn_down(page, login, screenshot, transactional_db):
    UserFactory(username="pete", first_name="Pete", last_name="Manager", roles=["project_manager"])
    today = timezone.localdate()
    project, line, design, build = hand_built(end=today + dt.timedelta(weeks=4), start=today - dt.timedelta(weeks=10))
    who = consultant()
    for week in range(8, 0, -1):
        day = today - dt.timedelta(weeks=week)
        entry(project, who=who, day=day, hours="9", task=design if week > 3 else build, line=line)
    login("pete", TEST_PASSWORD)
    page.goto(f"/projects/{project.pk}/")
    panel = page.locator("[data-testid=budget-panel]")
    expect(panel.locator("[data-testid=burn-percent]")).to_have_text("72.0%")
    expect(panel.locator("[data-testid=burn-method]")).to_contain_text("run-rate")
    expect(panel.locator("[data-testid=burn-chart]")).to_be_visible()
    panel.scroll_into_view_if_needed()
    # the chart is drawn once the fragment settles: Chart.js knows the canvas and has drawn both series
    page.wait_for_function(
        "() => { const c = window.Chart && Chart.getChart(document.querySelector('[data-testid=burn-chart]'));"
        " return !!c && c.data.datasets.length === 2 && c.getDatasetMeta(0).data.length > 0; }",
        timeout=10_000,
    )
    screenshot(page, "project-budget-panel")
