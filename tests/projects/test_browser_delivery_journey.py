"""Delivery control in Chromium, as a project manager and a consultant live it: the PM sees an over-budget
project flagged on the home page, opens its burn chart, reviews a week grouped by person with the over-long day
highlighted and rejects it with a reason; the consultant then copies last week into a half-filled week and no
cell doubles."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from ledger.services.budget_alerts import budget_alerts_check
from projects.choices import EntryStatus, ProjectStatus
from projects.models import Allocation, Contract, ContractLine, Project, TimeEntry
from projects.services import time as ts
from psa.core.dates import week_start
from tests.factories import TEST_PASSWORD, UserFactory
from tests.projects.time_factories import consultant_on, won_project

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HTMX_IDLE = "() => !document.querySelector('.htmx-request')"


def test_the_pm_catches_an_overrun_and_a_long_day_and_the_consultant_copies_a_week(
    page, login, screenshot, transactional_db
):
    pete = UserFactory(username="pete", first_name="Pete", last_name="Manager", roles=["project_manager"])
    setup = won_project(pm=pete)
    carl = consultant_on(
        setup, user=UserFactory(username="carl", first_name="Carl", last_name="Consultant", roles=["consultant"])
    )
    project = setup.project
    # The burn chart runs to today: the project runs from two months ago to two months ahead.
    start, end = timezone.localdate() - dt.timedelta(days=60), timezone.localdate() + dt.timedelta(days=60)
    Project.objects.filter(pk=project.pk).update(
        budget_hours=Decimal("30.00"), status=ProjectStatus.ACTIVE, start_date=start, end_date=end
    )
    Contract.objects.filter(project=project).update(start_date=start, end_date=end)
    ContractLine.objects.filter(contract__project=project).update(start_date=start, end_date=end)
    Allocation.objects.filter(project=project).update(start_date=start, end_date=end)
    project.refresh_from_db()
    copy_week = week_start(timezone.localdate()) - dt.timedelta(days=7)  # all three weeks lie in the past
    monday = copy_week - dt.timedelta(days=7)  # the week under review
    before = monday - dt.timedelta(days=7)
    put = dict(by=carl.user, consultant_id=carl.pk, project_id=project.pk, task_id=None)
    for d in range(5):  # last week: 40 h approved, above the 30 h budget
        ts.time_entry_put(**put, day=before + dt.timedelta(days=d), hours="8")
    ts.timesheet_submit(by=carl.user, consultant_id=carl.pk, week=before)
    ts.time_entries_approve(by=pete, entry_ids=list(TimeEntry.objects.values_list("pk", flat=True)))
    assert budget_alerts_check(project_ids=[project.pk], as_of=monday).raised
    ts.time_entry_put(**put, day=monday, hours="12")  # the week under review: one long day
    for d in range(1, 4):
        ts.time_entry_put(**put, day=monday + dt.timedelta(days=d), hours="7")
    ts.timesheet_submit(by=carl.user, consultant_id=carl.pk, week=monday)

    login("pete", TEST_PASSWORD)
    page.goto("/")
    alerts = page.locator("[data-testid=panel]", has_text="Budget alerts")
    expect(alerts).to_contain_text(project.code)
    screenshot(page, "delivery-01-home-alerts")
    alerts.get_by_role("link").filter(has_text=project.code).first.click()
    panel = page.locator("[data-testid=budget-panel]")
    expect(panel.locator("[data-testid=burn-alert]").first).to_be_visible()
    expect(panel.locator("[data-testid=burn-chart]")).to_be_visible()
    panel.scroll_into_view_if_needed()
    screenshot(page, "delivery-02-burn-chart")

    page.goto(f"/time/approvals/?project={project.pk}")
    group = page.locator("[data-testid=approval-group]", has_text="Carl Consultant")
    expect(group.locator("[data-testid=anomaly]").first).to_contain_text("12.00 h on")
    expect(group.locator("[data-testid=long-day]")).to_have_count(1)
    screenshot(page, "delivery-03-approval-week")
    group.locator("input[name=reason]").fill("Monday's 12 hours: split them over the days you worked")
    group.locator("[data-testid=reject-week]").click()
    expect(page.locator(".psa-messages")).to_contain_text("Rejected")
    week = TimeEntry.objects.filter(date__gte=monday)
    assert set(week.values_list("status", flat=True)) == {EntryStatus.REJECTED}

    page.context.clear_cookies()
    login("carl", TEST_PASSWORD)
    next_week = copy_week
    page.goto(f"/time/?week={next_week.isoformat()}")
    page.click("[data-testid=cell-0-0]")
    page.keyboard.type("4")
    page.keyboard.press("Tab")
    page.wait_for_function(HTMX_IDLE)
    page.click("[data-testid=copy-last-week]")
    expect(page.locator("[data-testid=cell-0-1]")).to_have_value("7.00")
    expect(page.locator("[data-testid=cell-0-0]")).to_have_value("4.00")
    screenshot(page, "delivery-04-copied-week")
    copied = dict(TimeEntry.objects.filter(date__gte=next_week).values_list("date", "hours"))
    assert copied == {
        next_week: Decimal("4.00"),
        next_week + dt.timedelta(days=1): Decimal("7.00"),
        next_week + dt.timedelta(days=2): Decimal("7.00"),
        next_week + dt.timedelta(days=3): Decimal("7.00"),
    }
    assert page.js_errors == []
