"""A consultant imports a week of time from a CSV file in Chromium: the dry run lists each row (one refused,
naming its rule), the import writes the good rows as drafts, and the timesheet shows them."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from projects.choices import EntryStatus
from projects.models import TimeEntry
from tests.factories import TEST_PASSWORD, UserFactory
from tests.projects.time_factories import MONDAY, consultant_on, won_project

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def firm(transactional_db):
    setup = won_project()
    user = UserFactory(username="carl", first_name="Carl", last_name="Consultant", roles=["consultant"])
    return setup, consultant_on(setup, user=user)


def test_a_consultant_checks_and_imports_a_csv_of_time(page, login, screenshot, firm, tmp_path):
    setup, _carl = firm
    code = setup.project.code
    rows = [f"carl,{code},{MONDAY + dt.timedelta(days=i)},7.5,Imported day {i + 1}" for i in range(4)]
    rows.append(f"carl,{code},{MONDAY + dt.timedelta(days=4)},25,Too long")
    path = tmp_path / "week.csv"
    path.write_text("consultant,project,date,hours,note\n" + "\n".join(rows) + "\n")

    login("carl", TEST_PASSWORD)
    page.goto(f"/time/?week={MONDAY.isoformat()}")
    page.click("[data-testid=time-import]")
    page.set_input_files("#id_file", str(path))
    page.click("[data-testid=import-form] button[type=submit]")
    report = page.locator("[data-testid=import-report]")
    expect(report).to_contain_text("Dry run: 4 to create, 0 to update, 1 refused")
    expect(report).to_contain_text("rule: hours_max_per_entry")
    screenshot(page, "time-import-01-dry-run")
    assert not TimeEntry.objects.exists()

    page.click("[data-testid=import-confirm]")
    expect(page.locator(".psa-messages")).to_contain_text("Imported time: 4 created, 0 updated, 1 refused")
    screenshot(page, "time-import-02-imported")
    assert TimeEntry.objects.filter(status=EntryStatus.DRAFT).count() == 4

    page.goto(f"/time/?week={MONDAY.isoformat()}")
    expect(page.locator("[data-testid=week-total]")).to_have_text("30.00")
    screenshot(page, "time-import-03-timesheet")
    assert page.js_errors == []
