"""The time journey in Chromium: a consultant fills a week with the keyboard only (typing, Tab, arrows,
Enter, Shift+F2 for a note), sees the totals, submits; the PM approves in bulk; the week is then locked."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from projects.choices import EntryStatus
from projects.models import TimeEntry
from tests.factories import TEST_PASSWORD, UserFactory
from tests.projects.time_factories import MONDAY, consultant_on, won_project
from tests.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HTMX_IDLE = "() => !document.querySelector('.htmx-request')"
CHART_DRAWN = "() => [...document.querySelectorAll('canvas[data-chart]')].every(c => window.Chart && Chart.getChart(c))"


@pytest.fixture
def firm(transactional_db):
    pm = UserFactory(username="pete", first_name="Pete", last_name="Manager", roles=["project_manager"])
    setup = won_project(pm=pm)
    user = UserFactory(username="carl", first_name="Carl", last_name="Consultant", roles=["consultant"])
    return setup, consultant_on(setup, user=user)


def test_the_first_editable_cell_has_focus_on_load_so_typing_lands_in_it(page, login, screenshot, firm):
    login("carl", TEST_PASSWORD)
    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"/time/?week={MONDAY.isoformat()}")
        page.wait_for_load_state("networkidle")
        assert page.evaluate("document.activeElement.dataset.testid") == "cell-0-0"
        # The note's label names the cell's day as every date on the page (06 Dec 2026 by default).
        expect(page.locator("#ts-note-label")).to_contain_text(MONDAY.strftime("%d %b %Y"))
        assert page.evaluate("document.documentElement.scrollWidth") <= width, "nothing wider than the screen"
        screenshot(page, f"time-00-focus-{width}")
    page.keyboard.type("7")  # no Tab, no click
    expect(page.locator("[data-testid=week-total]")).to_have_text("7.00")
    assert wait_for(lambda: TimeEntry.objects.filter(date=MONDAY, hours=Decimal("7")).exists())
    assert page.js_errors == []


def test_a_consultant_fills_and_submits_a_week_the_pm_approves_and_it_locks(page, login, screenshot, firm):
    setup, _carl = firm
    login("carl", TEST_PASSWORD)
    page.goto(f"/time/?week={MONDAY.isoformat()}")
    # A second row for the Build task.
    page.select_option("#add-row-select", label=f"{setup.project.code} · Build")
    page.click("[data-testid=add-row] button")
    page.wait_for_selector("[data-testid=cell-1-0]")

    page.click("[data-testid=cell-0-0]")
    for hours in ("6", "6", "6", "6"):
        page.keyboard.type(hours)
        page.keyboard.press("Tab")
    page.keyboard.type("6")
    page.keyboard.press("ArrowDown")  # Friday, Build row
    page.keyboard.type("2")
    for _ in range(4):
        page.keyboard.press("ArrowLeft")  # the previous day
        page.keyboard.type("2")
    page.keyboard.press("Enter")  # no row below: stays put
    page.keyboard.press("Shift+Enter")  # back up to Monday, General
    page.keyboard.press("Shift+F2")
    page.keyboard.type("Kick-off workshop")
    page.keyboard.press("Enter")
    expect(page.locator("[data-testid=week-total]")).to_have_text("40.00")
    # The note's save answers after the last hour's: wait until it is stored and nothing is in flight.
    assert wait_for(lambda: TimeEntry.objects.filter(date=MONDAY, task__isnull=True, note="Kick-off workshop").exists())
    page.wait_for_function(HTMX_IDLE)
    screenshot(page, "time-01-week-filled")
    assert page.js_errors == []
    assert TimeEntry.objects.count() == 10
    assert sum(TimeEntry.objects.values_list("hours", flat=True)) == Decimal("40.00")
    assert TimeEntry.objects.get(date=MONDAY, task__isnull=True).note == "Kick-off workshop"

    page.click("[data-testid=submit-week]")
    page.wait_for_selector("text=Submitted 10 entries")
    screenshot(page, "time-02-submitted")
    assert set(TimeEntry.objects.values_list("status", flat=True)) == {EntryStatus.SUBMITTED}

    page.context.clear_cookies()
    login("pete", TEST_PASSWORD)
    page.goto("/time/approvals/")
    page.wait_for_selector("text=10 entries · 40.00 h")
    assert page.locator("input[name=ids]:checked").count() == 0  # nothing is ticked for the approver
    screenshot(page, "time-03-approval-queue")
    page.click("[data-testid=approve-week]")
    page.wait_for_selector("text=Approved 10 time entries")
    screenshot(page, "time-04-approved")
    entry = TimeEntry.objects.get(date=MONDAY, task__isnull=True)
    assert entry.status == EntryStatus.APPROVED and entry.bill_rate == Decimal("160.0000")
    # The PM's staffing views over the same firm.
    rr = setup.project.resource_requests.first()
    page.goto(f"/staffing/?request={rr.pk}")
    page.wait_for_selector("[data-testid=candidates]")
    screenshot(page, "time-06-staffing-search")
    page.goto(f"/staffing/heatmap/?start={MONDAY.isoformat()}")
    page.wait_for_selector("[data-testid=consultant-heatmap]")
    screenshot(page, "time-07-heatmap")
    page.goto(f"/utilization/?start={MONDAY.isoformat()}&end=2027-01-17")
    page.wait_for_selector("[data-testid=utilization-table]")
    page.wait_for_function(CHART_DRAWN)
    screenshot(page, "time-08-utilization")
    assert page.js_errors == []

    page.context.clear_cookies()
    login("carl", TEST_PASSWORD)
    page.goto(f"/time/?week={MONDAY.isoformat()}")
    cell = page.locator("[data-testid=cell-0-0]")
    assert cell.get_attribute("readonly") is not None
    assert cell.get_attribute("hx-post") is None  # a locked cell has nothing to save with
    cell.click()
    page.keyboard.type("9")
    expect(cell).to_have_value("6.00")
    assert page.locator("[data-testid=submit-week]").is_disabled()
    screenshot(page, "time-05-locked")
    entry.refresh_from_db()
    assert entry.hours == Decimal("6.00")
