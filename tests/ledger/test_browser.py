"""Finance in Chromium: posts a manual entry, sees it in the trial balance, closes the month, and a posting
dated in the closed month is refused with a clear message."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from ledger.models import AccountingPeriod, JournalEntry
from ledger.services import periods_ensure
from ledger.services.chart import chart_ensure_default
from ledger.services.revenue import recognition_run
from psa.web.demo import DEMO_PASSWORD, seed_users

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def books(transactional_db):
    seed_users()
    chart_ensure_default()
    today = timezone.localdate()
    periods_ensure(start=today, through=today + timedelta(days=40))
    return today


def finance_user():
    return get_user_model().objects.get(username="finance")


def fill_entry(page, on, memo: str, amount: str) -> None:
    page.goto("/ledger/entries/new/")
    page.fill("#id_date", on.isoformat())
    page.fill("#id_memo", memo)
    page.select_option("#id_lines-0-account", "6100")
    page.fill("#id_lines-0-debit", amount)
    page.fill("#id_lines-0-memo", "Design tool licences")
    page.select_option("#id_lines-1-account", "1000")
    page.fill("#id_lines-1-credit", amount)
    page.click("[data-testid=post-entry]")
    page.wait_for_load_state("networkidle")


def test_finance_posts_sees_the_trial_balance_closes_the_month_and_is_refused(page, login, screenshot, nav_to, books):
    today = books
    login("finance", DEMO_PASSWORD)
    nav_to(page, "Ledger")
    page.wait_for_url("**/ledger/")
    screenshot(page, "ledger-journal-empty")

    fill_entry(page, today, "Software subscriptions", "1250.00")
    number = JournalEntry.objects.get().number
    assert number in page.locator("[data-testid=entry-number]").inner_text()
    assert "Posted " + number in page.locator(".alert-success").inner_text()
    screenshot(page, "ledger-entry-posted")

    page.click("[data-testid=ledger-tabs] >> text=Trial balance")
    row = page.locator("[data-testid=trial-balance] tr[data-account='6100']")
    assert "1,250.00" in row.inner_text()
    assert "balanced" in page.locator("[data-testid=tb-status]").inner_text()
    screenshot(page, "ledger-trial-balance")

    label = today.strftime("%Y-%m")
    page.click("[data-testid=ledger-tabs] >> text=Periods")
    page.locator(f"tr[data-period='{label}'] input[name=reason]").fill("Month-end review done")
    page.click(f"[data-testid=close-{label}]")
    page.wait_for_load_state("networkidle")
    assert "recognition" in page.locator(".alert-danger, .alert-warning").first.inner_text().lower()
    assert AccountingPeriod.objects.get(start=today.replace(day=1)).status != "closed"

    # The checklist's blocking item done (the month's recognition run, here with nothing to recognise).
    recognition_run(period_id=AccountingPeriod.objects.get(start=today.replace(day=1)).pk, by=finance_user())
    page.click("[data-testid=ledger-tabs] >> text=Periods")
    page.locator(f"tr[data-period='{label}'] input[name=reason]").fill("Month-end review done")
    page.click(f"[data-testid=close-{label}]")
    page.wait_for_load_state("networkidle")
    assert f"{label} is closed" in page.locator(".alert-success").inner_text()
    screenshot(page, "ledger-period-closed")

    fill_entry(page, today, "Late supplier bill", "80.00")
    errors = page.locator("[data-testid=form-errors]").inner_text()
    assert f"The period {label} is closed" in errors and today.isoformat() in errors
    assert JournalEntry.objects.count() == 1
    screenshot(page, "ledger-closed-month-refused")

    page.click("[data-testid=ledger-tabs] >> text=Audit")
    audit = page.locator("[data-testid=audit-table]").inner_text()
    assert f"Closed {label}: Month-end review done" in audit and number in audit
    screenshot(page, "ledger-audit")

    page.click("[data-testid=ledger-tabs] >> text=Profit & loss")
    assert "-1,250.00" in page.locator("[data-testid=pnl]").inner_text()
    expect(page.locator("canvas[data-chart=pnl-chart]")).to_have_count(1)
    screenshot(page, "ledger-pnl")
    page.click("[data-testid=ledger-tabs] >> text=Balance sheet")
    assert (
        page.locator("[data-testid=total-assets]").inner_text() == page.locator("[data-testid=total-le]").inner_text()
    )
    screenshot(page, "ledger-balance-sheet")
    page.goto("/")
    assert "Ledger" in page.locator("[data-testid=home-panels]").inner_text()
    screenshot(page, "ledger-home-finance")
    assert page.js_errors == [], page.js_errors
