"""An administrator moves a small firm in through the go-live workspace: starts the go-live, sees a bad trial
balance refused row by row, uploads every file (dry run, then apply), reads the green reconciliation and
completes the go-live."""

import pytest

from psa.web.demo import DEMO_PASSWORD, seed_users
from tests.billing.factories import make_periods
from tests.billing.golive_fixtures import csv
from tests.billing.test_golive_journey import firm_files
from tests.ledger.revenue_factories import consultant

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def firm(transactional_db):
    seed_users()
    make_periods()
    return firm_files(consultant())


def test_an_administrator_moves_a_firm_in_through_the_workspace(
    firm, page, login, nav_to, screenshot, live_server, tmp_path
):
    login("admin", DEMO_PASSWORD)
    nav_to(page, "Go-live")
    page.fill("#id_cutover_date", "2026-04-01")
    with page.expect_navigation():
        page.click("[data-testid=golive-form] button[type=submit]")
    screenshot(page, "golive-started")
    assert page.locator("[data-testid=cutover]").inner_text() == "01 Apr 2026"  # as every date on the pages
    workspace = page.url

    def upload(kind: str, content: bytes, name: str) -> None:
        path = tmp_path / name
        path.write_bytes(content)
        page.goto(workspace)
        with page.expect_navigation():
            page.click(f"[data-testid=golive-import-{kind}]")
        page.set_input_files("#id_file", str(path))
        with page.expect_navigation():
            page.click("[data-testid=import-form] button[type=submit]")

    upload("chart", firm["chart"], "chart.csv")
    screenshot(page, "golive-chart-dry-run")
    with page.expect_navigation():
        page.click("[data-testid=import-confirm]")

    # A trial balance that does not balance and names an unknown code: each row and rule, no apply button.
    upload("opening_balances", csv("Account,Debit,Credit", "1400,3000.00,", "9999,,10.00"), "bad-tb.csv")
    errors = page.locator("[data-testid=import-error]")
    assert errors.count() == 2
    text = page.locator("[data-testid=import-report]").inner_text()
    assert "unknown_account" in text and "unbalanced" in text
    assert page.locator("[data-testid=import-confirm]").count() == 0
    screenshot(page, "golive-bad-trial-balance")

    for kind in ("periods", "opening_balances", "balance_history", "parties", "receivables", "contracts",
                 "unbilled_time"):  # fmt: skip
        upload(kind, firm[kind], f"{kind}.csv")
        assert page.locator("[data-testid=import-error]").count() == 0, page.locator(
            "[data-testid=import-report]"
        ).inner_text()
        if kind == "receivables":
            screenshot(page, "golive-receivables-dry-run")
        with page.expect_navigation():
            page.click("[data-testid=import-confirm]")
    assert "All" in page.locator("[data-testid=golive-summary]").inner_text()
    screenshot(page, "golive-workspace")

    with page.expect_navigation():
        page.click("text=Full report")
    assert "Every check is green" in page.locator("[data-testid=reconciliation-verdict]").inner_text()
    screenshot(page, "golive-reconciliation")

    page.goto(workspace)
    with page.expect_navigation():
        page.click("[data-testid=golive-complete]")
    assert page.locator("[data-testid=golive-status]").inner_text() == "Complete"
    screenshot(page, "golive-complete")
    assert not page.js_errors
