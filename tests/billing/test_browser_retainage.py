"""Finance sees the retainage on the project page and bills its release; the client pays from the portal with the
payment reference and the EPC QR code and downloads its statement of account. Screenshots for a person to look at
(tests/browser/screenshots/retainage-*.png); the invoice PDF is rasterised next to them."""

import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.db import transaction

from billing.services import invoice_draft_for_contract, invoice_issue, invoice_render
from crm.models import Contact
from psa.web.demo import DEMO_PASSWORD, seed_users
from tests.billing.factories import make_account, make_periods, milestone_contract
from tests.fixtures_browser import SCREENSHOTS

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def retainage_firm(transactional_db):
    from django.contrib.auth import get_user_model

    seed_users()
    make_periods()
    account = make_account(name="Contoso Retail", legal_name="Contoso Retail GmbH")
    contract, line, _ = milestone_contract("12000.00", "8000.00", account=account)
    line.retainage_percent = Decimal("10.00")
    line.save(update_fields=["retainage_percent"])
    finance = get_user_model().objects.get(username="finance")
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
    invoice = invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 1))
    invoice_render(invoice_id=invoice.pk)
    client = get_user_model().objects.get(username="client")
    Contact.objects.create(account=account, first_name="Claire", user=client, portal_access=True)
    return contract, invoice


def test_retainage_pages_and_the_portal_payment_details(retainage_firm, page, login, screenshot, live_server):
    contract, invoice = retainage_firm
    login("finance", DEMO_PASSWORD)
    page.goto(f"/projects/{contract.project_id}/")
    page.wait_for_selector("[data-testid=retainage-summary]")
    assert "still held 2,000.00" in page.inner_text("[data-testid=retainage-summary]")
    screenshot(page, "retainage-project-panel")
    page.goto("/billing/ar/?as_of=2026-02-10")
    assert "2,000.00" in page.inner_text("[data-testid=aging-table]")
    screenshot(page, "retainage-ar-aging")
    page.goto(f"/projects/{contract.project_id}/")
    page.fill("[data-testid=retainage-release-form] input[name=accepted_on]", "2026-03-15")
    page.click("[data-testid=retainage-release-form] button")
    page.wait_for_load_state("networkidle")
    assert "Draft release invoice for 2,000.00" in page.content()
    screenshot(page, "retainage-release-draft")

    page.context.clear_cookies()
    login("client", DEMO_PASSWORD)
    page.goto(f"/portal/invoices/{invoice.pk}/")
    page.wait_for_selector("[data-testid=epc-qr] svg")
    assert invoice.payment_reference in page.inner_text("[data-testid=portal-reference]")
    screenshot(page, "retainage-portal-invoice")
    page.goto("/portal/")
    screenshot(page, "retainage-portal-list")
    statement = page.request.get(f"{live_server.url}/portal/statement/")
    assert statement.status == 200 and statement.body()[:4] == b"%PDF"
    (SCREENSHOTS / "retainage-statement.pdf").write_bytes(statement.body())
    invoice.refresh_from_db()
    pdf = SCREENSHOTS / "retainage-invoice.pdf"
    pdf.write_bytes(Path(settings.MEDIA_ROOT, invoice.pdf.name).read_bytes())
    for name in ("retainage-invoice", "retainage-statement"):
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "70",
                "-f",
                "1",
                "-l",
                "1",
                str(SCREENSHOTS / f"{name}.pdf"),
                str(SCREENSHOTS / name),
            ],
            check=True,
        )
    assert page.js_errors == []
