"""Finance in Chromium reads the dashboard and the month-end page: each figure carries its formula as a tooltip
and the pages list what every figure means (screenshots in tests/browser/screenshots/)."""

from datetime import date

import pytest

from psa.core.kpis import KPIS
from psa.web.demo import DEMO_PASSWORD, seed_users
from tests.ledger.revenue_factories import period
from tests.web.test_kpis import firm  # noqa: F401  (the hand-built firm, a fixture)

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_finance_reads_each_figure_with_its_formula(firm, page, login, screenshot):  # noqa: F811
    seed_users()
    login("finance", DEMO_PASSWORD)
    page.goto("/dashboard/?start=2026-01-01&end=2026-03-31")
    backlog = page.locator("[data-series=backlog] [data-kpi=backlog]")
    assert backlog.get_attribute("title") == f"{KPIS['backlog'].label}: {KPIS['backlog'].formula}"
    assert "8,200.00" in page.locator("[data-series=backlog]").inner_text()
    assert page.locator("[data-series=project_margin]").is_visible()
    assert page.locator("[data-testid=kpi-definitions]").is_visible()
    assert not page.js_errors
    screenshot(page, "web-dashboard-kpis")

    page.goto(f"/ledger/month-end/{period(date(2026, 2, 1)).pk}/")
    assert page.locator("[data-testid=month-figures]").is_visible()
    assert KPIS["backlog"].formula in page.locator("[data-testid=kpi-definitions]").inner_text()
    screenshot(page, "web-month-end-kpis")
