"""An administrator adds months before the calendar's first from the periods page in Chromium: a refused month shows
its error under the field with what was typed kept; a good one adds the months, closed for the entity that had
closed the first month."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model

from ledger.models import AccountingPeriod
from psa.web.demo import DEMO_PASSWORD, seed_users
from tests.ledger.factories import close_month, make_periods

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_an_administrator_adds_months_before_the_first_from_the_periods_page(page, login, screenshot):
    seed_users()
    jan = make_periods(start=date(2026, 1, 1), through=date(2026, 3, 31))[0]
    close_month(period_id=jan.pk, by=get_user_model().objects.get(username="finance"))
    login("admin", DEMO_PASSWORD)
    page.goto("/ledger/periods/")
    form = page.locator("[data-testid=period-earlier]")
    assert "Add months before 2026-01" in form.inner_text()
    form.locator("input[name=start]").fill("2026-02")
    form.locator("input[name=reason]").fill("Invoices dated last autumn")
    form.locator("[data-testid=add-earlier]").click()
    page.wait_for_load_state()
    assert "Before 2026-01." in form.inner_text()
    assert form.locator("input[name=reason]").input_value() == "Invoices dated last autumn"
    screenshot(page, "periods-earlier-refused")
    form.locator("input[name=start]").fill("2025-10")
    form.locator("[data-testid=add-earlier]").click()
    page.wait_for_url("**/ledger/periods/")
    assert "3 month(s) created, 2025-10 to 2025-12; 3 of them closed" in page.content()
    rows = page.locator("[data-testid=period-table] tbody tr")
    assert rows.last.get_attribute("data-period") == "2025-10" and "closed" in rows.last.inner_text()
    screenshot(page, "periods-earlier-added")
    assert [p.label for p in AccountingPeriod.objects.order_by("start")][:3] == ["2025-10", "2025-11", "2025-12"]
