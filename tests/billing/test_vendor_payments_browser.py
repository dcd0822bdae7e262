"""Finance proposes a payment run from the menu, exports its pain.001 file, books it, then finds the payments in
the vendor payments list, and sees an over-payment refused inline on the record-a-payment form."""

from datetime import date

import pytest
from playwright.sync_api import expect

from billing.models import PaymentRun
from psa.core.entities import entity_default
from psa.web.demo import DEMO_PASSWORD, seed_users
from tests.billing.factories import make_periods
from tests.billing.vendor_payment_factories import make_bank_account, make_vendor, posted_bill

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def payables(transactional_db):
    seed_users()
    make_periods()
    entity_default()
    acme, globex = make_vendor("Acme Subcontracting"), make_vendor("Globex Design")
    posted_bill(acme, "1200.00", bill_date=date(2026, 2, 1))
    posted_bill(acme, "300.50", bill_date=date(2026, 2, 10))
    posted_bill(globex, "880.00", bill_date=date(2026, 2, 5))
    posted_bill(globex, "99.00", bill_date=date(2026, 2, 20), due_date=date(2027, 1, 31))
    return make_bank_account(), acme


def test_finance_runs_payments_and_records_one_by_hand(payables, page, login, nav_to, screenshot, live_server):
    account, acme = payables
    page.on("dialog", lambda dialog: dialog.accept())
    login("finance", DEMO_PASSWORD)
    nav_to(page, "Payment runs")
    page.click("[data-testid=payment-run-new]")
    page.select_option("#id_bank_account", str(account.pk))
    page.fill("#id_execution_date", "2026-03-05")
    page.fill("#id_due_by", "2026-03-31")
    screenshot(page, "payment-run-new")
    page.click("[data-testid=payment-run-submit]")
    assert page.locator("[data-testid=run-total]").inner_text() == "2,380.50 EUR"
    assert "Acme Subcontracting" in page.locator("[data-testid=run-payments]").inner_text()
    screenshot(page, "payment-run-draft")
    page.click("[data-testid=run-export]")
    page.wait_for_selector("[data-testid=run-download]")
    with page.expect_download() as download:
        page.click("[data-testid=run-download]")
    assert download.value.suggested_filename == f"{PaymentRun.objects.get().message_id}.xml"
    screenshot(page, "payment-run-exported")
    page.click("[data-testid=run-book]")
    page.locator("[data-testid=run-status]", has_text="Booked").wait_for()
    screenshot(page, "payment-run-booked")

    nav_to(page, "Vendor payments")
    expect(page.locator("[data-testid=vendor-payment-table] tbody tr")).to_have_count(2)
    page.click("[data-testid=vendor-payment-new]")
    page.select_option("#id_vendor", str(acme.pk))
    page.fill("#id_paid_on", "2026-03-10")
    page.fill("#id_amount", "50.00")
    page.click("[data-testid=vendor-payment-submit]")
    assert "At most 0.00" in page.locator("[data-testid=vendor-payment-form]").inner_text()
    screenshot(page, "vendor-payment-over-payment")
