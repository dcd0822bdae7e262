"""The seller printed on invoices comes from the PSA_FIRM_* settings and nowhere else: production has no demo
seller, and an invoice cannot be issued while a required seller detail is missing."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from django.db import transaction
from django.urls import reverse

from billing.choices import InvoiceStatus
from billing.models import Invoice
from billing.services import invoice_draft_for_contract, invoice_issue
from psa.core.exceptions import ConflictError
from tests.billing.factories import milestone_contract

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = ("PSA_FIRM_LEGAL_NAME", "PSA_FIRM_ADDRESS", "PSA_FIRM_COUNTRY", "PSA_FIRM_TAX_ID", "PSA_FIRM_IBAN")


def _draft():
    contract, _, _ = milestone_contract("100.00")
    with transaction.atomic():
        return invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))


@pytest.fixture
def no_seller(settings):
    for name in REQUIRED:
        setattr(settings, name, "")
    return settings


def test_production_settings_carry_no_demo_seller():
    # Given the environment of a production start: DEBUG off, a secret key, no PSA_FIRM_* and no demo switch
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PSA_FIRM_", "PSA_DEMO"))}
    env.update(DEBUG="false", SECRET_KEY="x" * 50, DJANGO_SETTINGS_MODULE="psa.settings")
    code = (
        "from django.conf import settings;"
        "print(repr([getattr(settings, n) for n in ('PSA_FIRM_LEGAL_NAME', 'PSA_FIRM_ADDRESS', 'PSA_FIRM_TAX_ID',"
        " 'PSA_FIRM_IBAN', 'PSA_FIRM_BIC', 'PSA_FIRM_BANK', 'PSA_FIRM_EMAIL')]))"
    )
    # When the settings are read
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    # Then no seller detail has a value: nothing of the demo firm (Northwind, its example IBAN) is printed
    assert out.stdout.strip() == repr([""] * 7)


def test_issuing_without_the_seller_details_is_refused_naming_the_settings(periods, finance, no_seller):
    draft = _draft()
    with pytest.raises(ConflictError) as refused:
        invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 1))
    assert refused.value.code == "seller_details_missing"
    assert set(refused.value.fields) == set(REQUIRED)
    for name in REQUIRED:
        assert name in refused.value.message
    draft.refresh_from_db()
    assert (draft.status, draft.number, draft.journal_entry_id) == (InvoiceStatus.DRAFT, None, None)


def test_one_missing_detail_is_named_alone(periods, finance, settings):
    settings.PSA_FIRM_IBAN = ""
    draft = _draft()
    with pytest.raises(ConflictError) as refused:
        invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 1))
    assert list(refused.value.fields) == ["PSA_FIRM_IBAN"]


def test_the_api_answers_409_with_the_settings_named(periods, api_as, no_seller):
    api = api_as("finance")
    draft = _draft()
    response = api.post(f"/api/v1/billing/invoices/{draft.pk}/issue/", {"issue_date": "2026-02-01"}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "seller_details_missing"
    assert set(body["fields"]) == set(REQUIRED)
    assert Invoice.objects.get(pk=draft.pk).status == InvoiceStatus.DRAFT


def test_the_page_shows_the_refusal_naming_the_settings(periods, client_as, no_seller):
    client = client_as("finance")
    draft = _draft()
    response = client.post(reverse("billing:invoice-issue", args=[draft.pk]), follow=True)
    text = response.content.decode()
    assert "PSA_FIRM_LEGAL_NAME" in text and "PSA_FIRM_IBAN" in text
    assert Invoice.objects.get(pk=draft.pk).status == InvoiceStatus.DRAFT


def test_an_issued_invoice_carries_the_seller_set_when_it_is_issued(periods, finance, settings, no_seller):
    # Given a draft made while the seller was not configured yet
    draft = _draft()
    # When the firm's details are set and the draft is issued
    settings.PSA_FIRM_LEGAL_NAME = "Acme Advisory SE"
    settings.PSA_FIRM_ADDRESS = "1 Main Street\n1010 Vienna"
    settings.PSA_FIRM_COUNTRY = "AT"
    settings.PSA_FIRM_TAX_ID = "ATU12345678"
    settings.PSA_FIRM_IBAN = "AT611904300234573201"
    invoice = invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 1))
    # Then the invoice prints those details
    assert invoice.seller["legal_name"] == "Acme Advisory SE"
    assert invoice.seller["iban"] == "AT611904300234573201"
    assert invoice.seller["country"] == "AT"
