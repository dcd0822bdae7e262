"""The invoice page: its title, the journal link, a draft's PDF preview and "Send to client" (issue 23)."""

import re
from datetime import date

import pytest
from django.db import transaction
from django.urls import reverse

from billing.models import Invoice, InvoiceDelivery, WriteOff
from billing.services import invoice_draft_for_contract, invoice_render
from crm.models import Contact
from ledger.models import JournalEntry
from psa.core.models import OutboxMessage
from tests.billing.factories import issued_invoice, milestone_contract
from tests.pdf_text import pdf_text

pytestmark = pytest.mark.django_db


def _draft() -> Invoice:
    contract, _, _ = milestone_contract("100.00", "20.00")
    with transaction.atomic():
        return invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))


def _title(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match
    return " ".join(match.group(1).split())


# --- title -----------------------------------------------------------------------------------------------
def test_a_drafts_title_says_draft_invoice_once(periods, client_as):
    client = client_as("finance")
    draft = _draft()
    html = client.get(reverse("billing:invoice-detail", args=[draft.pk])).content.decode()
    assert f"Draft invoice #{draft.pk}" in _title(html)
    assert "Invoice Draft" not in html


def test_an_issued_invoices_title_is_invoice_and_its_number(periods, client_as):
    client = client_as("finance")
    invoice = issued_invoice(client.user, "100.00")
    html = client.get(reverse("billing:invoice-detail", args=[invoice.pk])).content.decode()
    assert _title(html).startswith(f"Invoice {invoice.number}")
    heading = re.search(r'data-testid="invoice-title">(.*?)<span class="badge', html, re.S)
    assert heading and " ".join(re.sub("<[^>]+>", " ", heading.group(1)).split()) == f"Invoice {invoice.number}"


# --- journal link ----------------------------------------------------------------------------------------
def test_the_journal_number_links_to_the_journal_entry(periods, client_as):
    client = client_as("finance")
    invoice = issued_invoice(client.user, "100.00")
    entry = JournalEntry.objects.get(pk=invoice.journal_entry_id)
    html = client.get(reverse("billing:invoice-detail", args=[invoice.pk])).content.decode()
    link = f'<a href="{reverse("ledger:entry", args=[entry.pk])}">{entry.number}</a>'
    assert link in html
    assert client.get(reverse("ledger:entry", args=[entry.pk])).status_code == 200


# --- draft preview ---------------------------------------------------------------------------------------
def test_a_draft_has_a_pdf_preview_marked_draft_that_numbers_and_posts_nothing(periods, client_as):
    client = client_as("finance")
    draft = _draft()
    entries_before = JournalEntry.objects.count()
    html = client.get(reverse("billing:invoice-detail", args=[draft.pk])).content.decode()
    assert reverse("billing:invoice-preview", args=[draft.pk]) in html
    response = client.get(reverse("billing:invoice-preview", args=[draft.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Cache-Control"] == "private, no-store"
    text = pdf_text(response.content)
    assert "DRAFT" in text and "120.00" in text
    draft.refresh_from_db()
    assert draft.status == "draft" and draft.number is None and not draft.pdf_sha256
    assert JournalEntry.objects.count() == entries_before


def test_only_finance_may_preview_and_only_drafts(periods, client_as, make_user, client):
    draft = _draft()
    url = reverse("billing:invoice-preview", args=[draft.pk])
    for role in ("sales", "consultant", "project_manager"):
        client.force_login(make_user(role))
        assert client.get(url).status_code == 403
    client.force_login(make_user("client"))
    assert client.get(url).status_code == 403
    finance = make_user("finance")
    client.force_login(finance)
    issued = issued_invoice(finance, "50.00")
    assert client.get(reverse("billing:invoice-preview", args=[issued.pk])).status_code == 404


# --- send to client --------------------------------------------------------------------------------------
def _send(client, invoice, key="k-1"):
    return client.post(reverse("billing:invoice-send", args=[invoice.pk]), {"key": key})


def test_send_to_client_emails_the_stored_pdf_to_the_billing_contact_and_records_it(periods, client_as):
    client = client_as("finance")
    invoice = invoice_render(invoice_id=issued_invoice(client.user, "100.00").pk)
    assert invoice is not None
    invoice.account.billing_email = "payables@client.example"
    invoice.account.save()
    response = _send(client, invoice)
    assert response.status_code == 302
    delivery = InvoiceDelivery.objects.get(invoice=invoice)
    assert delivery.to == "payables@client.example" and delivery.sent_by == client.user
    message = OutboxMessage.objects.get(pk=delivery.outbox_message)
    assert message.payload["to"] == ["payables@client.example"]
    assert message.payload["attachments"][0]["path"] == invoice.pdf.name
    assert invoice.history.filter(note="Sent to payables@client.example", by=client.user).exists()
    html = client.get(reverse("billing:invoice-detail", args=[invoice.pk])).content.decode()
    sent = re.search(r'data-testid="invoice-sent">(.*?)</dd>', html, re.S)
    assert sent and "payables@client.example" in sent.group(1)
    assert "Sent to payables@client.example" in html  # the history line


def test_a_double_click_sends_once(periods, client_as):
    client = client_as("finance")
    invoice = invoice_render(invoice_id=issued_invoice(client.user, "100.00").pk)
    assert invoice is not None
    before = OutboxMessage.objects.count()
    _send(client, invoice, key="same")
    _send(client, invoice, key="same")
    assert InvoiceDelivery.objects.filter(invoice=invoice).count() == 1
    assert OutboxMessage.objects.count() == before + 1
    assert invoice.history.filter(note__startswith="Sent to").count() == 1
    _send(client, invoice, key="later")  # a deliberate second send from a fresh page is a second e-mail
    assert InvoiceDelivery.objects.filter(invoice=invoice).count() == 2


def test_a_draft_cannot_be_sent(periods, client_as):
    client = client_as("finance")
    draft = _draft()
    response = _send(client, draft)
    assert response.status_code == 302
    assert not InvoiceDelivery.objects.exists()
    page = client.get(reverse("billing:invoice-detail", args=[draft.pk])).content.decode()
    assert "cannot be sent: issue it first" in page


def test_an_account_without_billing_email_is_refused_with_a_clear_message(periods, client_as):
    client = client_as("finance")
    invoice = invoice_render(invoice_id=issued_invoice(client.user, "100.00").pk)
    assert invoice is not None
    invoice.account.billing_email = ""
    invoice.account.save()
    page = client.get(reverse("billing:invoice-detail", args=[invoice.pk])).content.decode()
    assert "no billing e-mail on the account" in page
    response = _send(client, invoice)
    assert response.status_code == 302
    assert not InvoiceDelivery.objects.exists()
    page = client.get(reverse("billing:invoice-detail", args=[invoice.pk])).content.decode()
    assert "has no billing e-mail: add one on the account" in page


def test_the_billing_contact_receives_it_when_the_account_has_no_billing_email(periods, client_as):
    client = client_as("finance")
    invoice = invoice_render(invoice_id=issued_invoice(client.user, "100.00").pk)
    assert invoice is not None
    account = invoice.account
    account.billing_email = ""
    account.save()
    Contact.objects.create(account=account, first_name="Bea", email="bea@client.example", is_billing_contact=True)
    _send(client, invoice)
    assert InvoiceDelivery.objects.get(invoice=invoice).to == "bea@client.example"


def test_only_finance_may_send(periods, make_user, client):
    finance = make_user("finance")
    invoice = issued_invoice(finance, "100.00")
    for role in ("sales", "project_manager", "consultant", "client"):
        client.force_login(make_user(role))
        assert _send(client, invoice).status_code == 403
    assert not InvoiceDelivery.objects.exists()


# --- write-off request: a refusal keeps what was typed ---------------------------------------------------
def _field_value(html: str, name: str) -> str | None:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert match, f"no {name} field on the page"
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else None


def _write_off_refused(client_as, amount: str, reason: str) -> tuple[Invoice, str]:
    """Request a write-off of a new 100.00 invoice that is refused: the invoice and the page shown again (400), after
    checking nothing was written and what was typed is still there."""
    client = client_as("finance")
    invoice = issued_invoice(client.user, "100.00")
    url = reverse("billing:write-off-request", args=[invoice.pk])
    response = client.post(url, {"amount": amount, "reason": reason})
    assert response.status_code == 400
    html = response.content.decode()
    assert (_field_value(html, "amount"), _field_value(html, "reason") or "") == (amount, reason)
    assert not WriteOff.objects.filter(invoice=invoice).exists()
    return invoice, html


def test_a_write_off_without_a_reason_shows_the_form_again_with_the_amount_and_the_error_inline(periods, client_as):
    _, html = _write_off_refused(client_as, "12.34", "")
    assert re.search(r'<input[^>]*name="reason"[^>]*aria-invalid="true"', html), "the reason is not marked"
    assert "This field is required" in html


def test_a_write_off_above_the_open_balance_is_refused_under_the_amount_keeping_the_reason(periods, client_as):
    invoice, html = _write_off_refused(client_as, "999999.00", "Client went bust")
    assert re.search(r'<input[^>]*name="amount"[^>]*aria-invalid="true"', html), "the amount is not marked"
    assert f"At most {invoice.balance}" in html
