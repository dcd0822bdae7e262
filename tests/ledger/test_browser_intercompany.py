"""Finance in Chromium: adds a missing transfer rate, runs March's intercompany recharge from the page, sees both
sides agree on the matching report and the consolidated view in USD with its translation reserve."""

from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from playwright.sync_api import expect

from ledger.models import IntercompanyRun
from ledger.services.intercompany import recharge_execute, transfer_rate_create
from psa.web.demo import DEMO_PASSWORD, seed_users
from tests.ledger.factories import make_periods
from tests.ledger.intercompany_factories import approved, rate, three_entities

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def firm(transactional_db):
    with override_settings(PSA_FUNCTIONAL_CURRENCY="EUR"):
        seed_users()
        make_periods()
        firm = three_entities()
        approved(firm.uk_consultant, firm.project, date(2026, 3, 2), "8")
        approved(firm.us_consultant, firm.project, date(2026, 3, 3), "4")
        transfer_rate_create(by=get_user_model().objects.get(username="finance"), supplier_id=firm.uk.pk,
                             receiver_id=firm.de.pk, markup_percent="10", valid_from=date(2026, 1, 1))  # fmt: skip
        for on, value in ((date(2026, 1, 2), "0.90"), (date(2026, 3, 31), "0.96")):
            rate("USD", on, value)
        yield firm


def test_finance_recharges_matches_and_consolidates(page, login, screenshot, firm):
    login("finance", DEMO_PASSWORD)
    page.goto("/ledger/intercompany/?month=2026-03-01")
    expect(page.locator("[data-testid=recharge-missing]")).to_contain_text("No transfer rate US → DE")
    screenshot(page, "intercompany-missing-rate")

    page.select_option("#id_supplier", str(firm.us.pk))
    page.select_option("#id_receiver", str(firm.de.pk))
    page.fill("#id_markup_percent", "15")
    page.fill("#id_valid_from", "2026-01-01")
    page.click("[data-testid=transfer-rate-form] button[type=submit]")
    page.goto("/ledger/intercompany/?month=2026-03-01")
    expect(page.locator("[data-testid=recharge-missing]")).to_have_count(0)
    page.click("[data-testid=run-recharge]")
    expect(page.locator(".alert-success")).to_contain_text("Intercompany recharge of 2026-03 started")
    recharge_execute(run_id=IntercompanyRun.objects.get().pk)  # the worker's part
    page.reload()
    expect(page.locator("[data-testid=recharge-runs]")).to_contain_text("Done")
    screenshot(page, "intercompany-run-done")

    page.click("[data-testid=link-matching]")
    expect(page.locator("[data-testid=matching-status]")).to_contain_text("all matched")
    screenshot(page, "intercompany-matching")

    page.goto("/ledger/consolidation/?currency=USD&at=2026-03-31")
    expect(page.locator("[data-testid=consolidation-status]")).to_contain_text("balances")
    expect(page.locator("[data-testid=consolidation-method]")).to_contain_text("translation reserve")
    screenshot(page, "consolidation-usd")
