"""Finance runs month-end in Chromium: the checklist shows what is outstanding and will not close before
recognition ran; a real worker runs recognition while the page shows its progress; the review reconciles; the
month closes; the contract roll-forward reconciles to the GL."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from billing.services import billing_schedule_generate
from ledger.models import AccountingPeriod
from projects.models import Milestone, TimeEntry
from psa.web.demo import DEMO_PASSWORD, seed_users
from tests.billing.factories import accept_milestone, make_contract, make_line
from tests.ledger.revenue_factories import D, approved_time, books, consultant, invoice, zero_tax_account

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def firm(transactional_db):
    seed_users()
    books()
    finance = get_user_model().objects.get(username="finance")
    retainer = make_contract(zero_tax_account(name="Contoso Retail"))
    line = make_line(retainer, "retainer", price="12000.00", description="Managed service retainer")
    billing_schedule_generate(contract_line_id=line.pk, by=finance)
    invoice(retainer, date(2026, 12, 31), date(2026, 1, 2), finance)  # the year billed in advance
    project = make_contract(zero_tax_account(name="Fabrikam Energy"))
    milestones = make_line(project, "milestone", price="1000.00", description="Design and go-live")
    accept_milestone(milestones, "400.00", on=date(2026, 1, 20), name="Design")
    Milestone.objects.create(
        project=project.project, contract_line=milestones, name="Go-live", amount=D("600.00"), due_date=date(2026, 3, 1)
    )
    tm = make_line(project, "tm", price="0.00", description="Advisory hours")
    approved_time(project.project, tm, date(2026, 1, 21), "2.00", rate="150")
    TimeEntry.objects.create(consultant=consultant(), project=project.project, date=date(2026, 1, 22), hours=D("3"))
    return retainer, project


def test_finance_runs_month_end_closes_january_and_sees_the_roll_forward(
    celery_worker_process, firm, page, login, screenshot
):
    login("finance", DEMO_PASSWORD)
    page.goto("/ledger/")
    page.click("[data-testid=tab-month-end]")
    page.wait_for_url("**/ledger/month-end/*/")
    assert "Month-end 2026-01" in page.locator("h1").inner_text()
    checklist = page.locator("[data-testid=checklist]")
    assert checklist.locator("[data-check=recognition]").get_attribute("data-done") == "no"
    assert checklist.locator("[data-check=unapproved_time]").get_attribute("data-done") == "no"
    assert page.locator("[data-testid=count-unapproved_time]").inner_text() == "1"
    assert page.locator("[data-testid=count-unbilled_time]").inner_text() == "1"
    assert page.locator("[data-testid=close-period]").is_disabled()
    screenshot(page, "month-end-checklist-before")

    page.click("[data-testid=run-recognition]")
    page.wait_for_url("**/ledger/revenue/runs/*/")
    screenshot(page, "month-end-recognition-running")
    expect(page.locator("[data-testid=run-status]")).to_contain_text("Done", timeout=60_000)
    assert "3 / 3 contract lines" in page.locator("[data-testid=run-count]").inner_text()
    table = page.locator("[data-testid=recognition-table]").inner_text()
    assert "1,000.00" in table and "400.00" in table and "300.00" in table
    screenshot(page, "month-end-recognition-done")

    page.click("[data-testid=back-to-checklist]")
    assert page.locator("[data-check=recognition]").get_attribute("data-done") == "yes"
    assert page.locator("[data-testid=review-recognised]").inner_text() == "1,700.00"
    assert "Reconciles to the GL" in page.locator("[data-testid=reconciles]").inner_text()
    screenshot(page, "month-end-review")

    page.fill("input[name=reason]", "January month-end: recognition reviewed")
    page.click("[data-testid=close-period]")
    page.wait_for_load_state("networkidle")
    assert "2026-01 is closed" in page.locator(".alert-success").inner_text()
    assert page.locator("[data-testid=period-closed]").is_visible()
    assert AccountingPeriod.objects.get(start=date(2026, 1, 1)).status == "closed"
    screenshot(page, "month-end-closed")

    page.click("[data-testid=open-rollforward]")
    page.wait_for_url("**/ledger/revenue/reports/rollforward/**")
    rollforward = page.locator("[data-testid=rollforward]").inner_text()
    assert "-11,000.00" in rollforward  # the retainer: 12,000 billed ahead, 1,000 recognised
    assert "700.00" in rollforward  # the other contract: 400 + 300 unbilled
    assert page.locator("[data-testid=rf-recognised]").inner_text() == "1,700.00"
    assert "Reconciles to the GL to the cent" in page.locator("[data-testid=rf-reconciliation]").inner_text()
    screenshot(page, "month-end-rollforward")

    page.click("[data-testid=revenue-tabs] >> text=Forecast")
    page.wait_for_url("**/ledger/revenue/reports/forecast/**")
    expect(page.locator("canvas[data-chart=forecast-chart]")).to_have_count(1)
    forecast = page.locator("[data-testid=forecast]").inner_text()
    assert "1,700.00" in forecast  # January, recognised
    assert "1,600.00" in forecast  # March: the retainer's 1,000 and the 600 go-live milestone, scheduled
    screenshot(page, "month-end-forecast")
    assert page.js_errors == [], page.js_errors
