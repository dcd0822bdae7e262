"""Finance in Chromium on Ledger -> Exchange rates: the demo's year of rates draws as a chart, a rate with too
many places is refused inline, and the ECB history file is checked (dry run) and applied."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from psa.core import demo as core_demo
from psa.core.models import ExchangeRate, RateSource
from psa.web.demo import DEMO_PASSWORD, seed_users

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HISTORY = Path(__file__).resolve().parent.parent / "fixtures" / "ecb" / "eurofxref-hist.csv"


def test_finance_charts_corrects_and_imports_exchange_rates(page, login, screenshot, transactional_db):
    seed_users()
    core_demo.seed()
    login("finance", DEMO_PASSWORD)

    page.goto("/ledger/exchange-rates/?currency=GBP")
    expect(page.locator("[data-testid=rate-table] tbody tr")).to_have_count(50)
    page.wait_for_function(
        "() => { const c = window.Chart && Chart.getChart(document.querySelector('[data-testid=rate-chart]'));"
        " return !!c && c.getDatasetMeta(0).data.length > 200; }",
        timeout=10_000,
    )
    screenshot(page, "exchange-rates-chart")

    page.select_option("#id_rate-currency", "USD")
    page.fill("#id_rate-date", "2026-12-04")
    page.fill("#id_rate-rate", "0.12345678901")
    page.click("[data-testid=rate-save]")
    expect(page.locator("#rate-form .invalid-feedback")).to_contain_text("10 decimal places")

    page.set_input_files("#id_file", str(HISTORY))
    page.click("[data-testid=ecb-check]")
    report = page.locator("[data-testid=ecb-report]")
    expect(report).to_contain_text("Dry run")
    expect(report).to_contain_text("BGN, CYP, RUB")
    screenshot(page, "exchange-rates-dry-run")
    page.click("[data-testid=ecb-apply]")
    expect(page.locator(".alert-success")).to_contain_text("Imported the ECB rates")
    assert ExchangeRate.objects.filter(source=RateSource.ECB).count() > 0
    assert page.js_errors == []
