"""Finance posts the month's labour cost in Chromium: the checklist line is red, a real worker runs the posting
while the page shows its progress, the result names the projects posted and the one refused (no rate), and the
checklist line turns to done for the posted project only once the rate is entered and the run repeated."""

from datetime import date

import pytest
from playwright.sync_api import expect

from psa.core.rates import exchange_rate_set
from psa.web.demo import DEMO_PASSWORD, seed_users
from tests.billing.factories import make_contract, make_line
from tests.ledger.cost_factories import person, vendor
from tests.ledger.revenue_factories import approved_time, books, zero_tax_account

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
    for name, who in (("Contoso Retail", None), ("Fabrikam Energy", "sub"), ("Tailspin Toys", "usd")):
        contract = make_contract(zero_tax_account(name=name))
        line = make_line(contract, "tm", price="0.00", description="Advisory hours")
        consultant = {None: None, "sub": person(supplier=vendor(rate="65")), "usd": person(currency="USD")}[who]
        approved_time(contract.project, line, date(2026, 1, 12), "7.50", cost="62", who=consultant)
        approved_time(contract.project, line, date(2026, 1, 13), "6.00", cost="62", who=consultant)


def test_finance_posts_labour_cost_and_sees_the_result(celery_worker_process, firm, page, login, screenshot):
    login("finance", DEMO_PASSWORD)
    page.goto("/ledger/month-end/")
    assert page.locator("[data-check=labour_cost]").get_attribute("data-done") == "no"
    page.goto("/ledger/")
    page.click("[data-testid=tab-labour-cost]")
    page.wait_for_url("**/ledger/labour-cost/")
    screenshot(page, "labour-cost-start")

    page.select_option("#id_period", label="January 2026")
    page.click("[data-testid=run-cost-posting]")
    page.wait_for_url("**/ledger/labour-cost/runs/*/")
    expect(page.locator("[data-testid=run-status]")).to_contain_text("Done", timeout=60_000)
    result = page.locator("[data-testid=run-result]").inner_text()
    assert "2 projects posted" in result and "2 entries" in result and "1,674.00" in result
    errors = page.locator("[data-testid=run-errors]").inner_text()
    assert "USD" in errors and "2026-01-31" in errors
    assert page.locator("[data-testid=cost-entries] tbody tr").count() == 2
    screenshot(page, "labour-cost-done-with-errors")

    exchange_rate_set(currency="USD", on=date(2026, 1, 31), rate="0.9", by=None)
    page.goto("/ledger/labour-cost/")
    page.select_option("#id_period", label="January 2026")
    page.click("[data-testid=run-cost-posting]")
    page.wait_for_url("**/ledger/labour-cost/runs/*/")
    expect(page.locator("[data-testid=run-status]")).to_contain_text("Done", timeout=60_000)
    assert "753.30" in page.locator("[data-testid=run-result]").inner_text()  # 837.00 USD x 0.9
    page.click("[data-testid=back-to-checklist]")
    assert page.locator("[data-check=labour_cost]").get_attribute("data-done") == "yes"
    screenshot(page, "labour-cost-checklist-done")
    assert page.js_errors == [], page.js_errors
