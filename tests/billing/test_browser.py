"""Finance previews and starts a run (a real worker processes it), watches its progress, issues the invoices,
downloads a PDF whose text shows the right total and records a payment; the client then downloads its own
PDF from the portal and gets a 404 for another account's."""

import pytest
from django.conf import settings

from billing.models import Invoice
from crm.models import Contact
from psa.web.demo import DEMO_PASSWORD, seed_users
from tests.billing.factories import make_account, make_periods, milestone_contract
from tests.pdf_text import pdf_text

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.worker,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def shared_media(monkeypatch):
    # The worker renders the PDFs; it must store them where this process (the live server) reads them.
    monkeypatch.setenv("MEDIA_ROOT", str(settings.MEDIA_ROOT))


@pytest.fixture
def firm(transactional_db):
    from django.contrib.auth import get_user_model

    seed_users()
    make_periods()
    mine = make_account(name="Contoso Retail", legal_name="Contoso Retail GmbH")
    other = make_account(name="Fabrikam Energy", legal_name="Fabrikam Energy AG")
    milestone_contract("10.04", "10.04", "10.04", account=mine)
    milestone_contract("2500.00", "1500.00", account=other)
    client = get_user_model().objects.get(username="client")
    Contact.objects.create(account=mine, first_name="Claire", user=client, portal_access=True)
    return mine, other


def test_finance_bills_a_month_and_the_client_downloads_only_its_own_pdf(
    shared_media, celery_worker_process, firm, page, login, screenshot, live_server
):
    mine, other = firm
    page.on("dialog", lambda dialog: dialog.accept())
    login("finance", DEMO_PASSWORD)
    # Billing sits in the main menu's Finance group: open the group, then follow the entry.
    menu = page.locator("[data-testid=main-nav]")
    menu.locator("[data-testid=nav-group]", has_text="Finance").locator(".dropdown-toggle").click()
    menu.locator(".dropdown-menu.show a.dropdown-item", has_text="Billing").click()
    page.click("[data-testid=new-run]")
    page.fill("#id_period_end", "2026-01-31")
    page.click("[data-testid=run-preview]")
    preview = page.locator("[data-testid=preview-table]").inner_text()
    assert "Contoso Retail" in preview and "Fabrikam Energy" in preview
    assert page.locator("[data-testid=preview-net]").inner_text() == "EUR 4,030.12"
    screenshot(page, "billing-run-preview")

    page.click("[data-testid=run-start]")
    page.wait_for_selector("[data-testid=run-progress]")
    screenshot(page, "billing-run-progress")
    page.locator("[data-testid=run-status]", has_text="Done").wait_for(timeout=30000)
    assert "2 / 2 contracts" in page.locator("[data-testid=progress-count]").inner_text()
    screenshot(page, "billing-run-done")

    page.click("[data-testid=review-drafts]")
    for box in page.locator("[data-testid=select-draft]").all():
        box.check()
    screenshot(page, "billing-drafts")
    page.click("[data-testid=bulk-issue]")
    page.wait_for_selector("text=Issued 2")
    screenshot(page, "billing-issued")

    invoice = Invoice.objects.get(account=mine)
    page.goto(f"/billing/invoices/{invoice.pk}/")
    assert page.locator("[data-testid=invoice-total]").inner_text() == "36.14 EUR"
    page.click("[data-testid=explain] >> nth=0")
    page.wait_for_selector("[data-testid=explain-panel]")
    screenshot(page, "billing-invoice-detail")
    with page.expect_download() as download:
        page.click("[data-testid=download-pdf]")
    path = download.value.path()
    text = pdf_text(path)
    assert invoice.number in text and "36.14 EUR" in text

    page.click("[data-testid=record-payment]")
    assert page.locator("#id_amount").input_value() == "36.14"
    screenshot(page, "billing-payment-form")
    page.click("[data-testid=payment-submit]")
    page.wait_for_selector("[data-testid=invoice-status]")
    assert page.locator("[data-testid=invoice-status]").inner_text() == "Paid"
    page.goto("/billing/ar/")
    screenshot(page, "billing-receivables")
    assert page.js_errors == [], page.js_errors

    page.click("[data-testid=user-menu]")
    page.click("[data-testid=logout]")
    login("client", DEMO_PASSWORD)
    page.goto("/portal/")
    rows = page.locator("[data-testid=portal-invoices]").inner_text()
    assert invoice.number in rows
    theirs = Invoice.objects.get(account=other)
    assert theirs.number not in rows
    screenshot(page, "billing-portal")
    with page.expect_download() as download:
        page.click("[data-testid=portal-pdf] >> nth=0")
    assert "36.14 EUR" in pdf_text(download.value.path())
    assert page.js_errors == [], page.js_errors
    response = page.request.get(f"{live_server.url}/files/invoice-pdf/{theirs.pk}/")
    assert response.status == 404
    assert page.goto(f"/portal/invoices/{theirs.pk}/").status == 404
