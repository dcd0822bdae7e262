"""Finance in Chromium: opens the executive dashboard, then the exception queue, follows an accepted-but-not-
invoiced milestone to the invoice run page, bills it, and the item leaves the queue."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import SourceLink
from psa.web.demo import DEMO_PASSWORD, seed_users
from tests.billing.factories import make_periods, milestone_contract

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def milestone(transactional_db, settings):
    # The run's job executes in the live server's thread (eager): this journey is about the queue, the billing
    # browser test covers a real worker.
    settings.CELERY_TASK_ALWAYS_EAGER = True
    seed_users()
    today = timezone.localdate()
    make_periods(start=today - timedelta(days=400), through=today + timedelta(days=60))
    _contract, _line, (ms,) = milestone_contract("2500.00", on=today - timedelta(days=10))
    return ms


def test_finance_fixes_an_exception_from_the_dashboard_and_it_leaves_the_queue(milestone, page, login, screenshot):
    login("finance", DEMO_PASSWORD)
    page.locator("[data-testid=main-nav] a[href='/dashboard/']").click()
    page.wait_for_url("**/dashboard/")
    assert page.locator("[data-testid=dashboard-kpis]").is_visible()
    assert page.locator("canvas[data-chart=dash-money]").is_visible()
    screenshot(page, "web-dashboard")

    page.click("[data-testid=to-exceptions]")
    page.wait_for_url("**/exceptions/")
    item = page.locator(f"[data-testid=exception-item][data-key='milestone:{milestone.pk}']")
    assert "2,500.00" in item.inner_text()
    screenshot(page, "web-exceptions-before")

    item.locator("[data-testid=exception-fix]").click()
    page.wait_for_url("**/billing/runs/new/")
    page.fill("#id_period_end", timezone.localdate().isoformat())
    page.click("[data-testid=run-preview]")
    page.click("[data-testid=run-start]")
    page.locator("[data-testid=run-status]", has_text="Done").wait_for(timeout=30000)
    assert SourceLink.objects.filter(kind="milestone", source_id=milestone.pk).exists()
    screenshot(page, "web-exceptions-fixed-run")

    page.goto("/exceptions/")
    assert page.locator(f"[data-testid=exception-item][data-key='milestone:{milestone.pk}']").count() == 0
    assert page.locator("[data-testid=rule-milestone_uninvoiced] .badge").inner_text() == "0"
    screenshot(page, "web-exceptions-after")
