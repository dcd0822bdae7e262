"""The seller printed on an invoice is its legal entity, as the entity is when the document is issued. The
PSA_FIRM_* settings only seed the firm's first entity; production has no demo seller, and an invoice cannot be
issued while a required detail of its entity is missing."""

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
from projects.models import Contract
from psa.core.entities import bank_account_add, entity_create, entity_default
from psa.core.exceptions import ConflictError
from psa.core.models import LegalEntity
from tests.billing.factories import milestone_contract

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
REQUIRED = ("legal_name", "street", "postcode", "city", "country", "vat_id", "bank_accounts")


def _draft(entity: LegalEntity | None = None):
    contract, _, _ = milestone_contract("100.00")
    if entity is not None:
        Contract.objects.filter(pk=contract.pk).update(entity=entity)
        contract.refresh_from_db()
    with transaction.atomic():
        return invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))


@pytest.fixture
def no_seller(settings):
    # The first entity is seeded from settings that carry nothing.
    for name in ("PSA_FIRM_LEGAL_NAME", "PSA_FIRM_ADDRESS", "PSA_FIRM_COUNTRY", "PSA_FIRM_TAX_ID", "PSA_FIRM_IBAN"):
        setattr(settings, name, "")
    return entity_default()


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


def test_the_first_entity_is_seeded_from_the_settings_once(settings):
    entity = entity_default()
    assert (entity.legal_name, entity.country, entity.vat_id) == ("Northwind Consulting GmbH", "DE", "DE123456788")
    assert (entity.street, entity.postcode, entity.city) == ("12 Harbour Street", "10115", "Berlin")
    assert entity.bank_accounts.get().iban == "DE89370400440532013000"
    # A later change of the settings does not change the entity: the settings only seed it
    settings.PSA_FIRM_LEGAL_NAME = "Other GmbH"
    assert entity_default().legal_name == "Northwind Consulting GmbH"
    assert LegalEntity.objects.count() == 1


def test_issuing_without_the_entity_details_is_refused_naming_them(periods, finance, no_seller):
    draft = _draft()
    with pytest.raises(ConflictError) as refused:
        invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 1))
    assert refused.value.code == "seller_details_missing"
    assert set(refused.value.fields) == set(REQUIRED)
    assert "Legal name is required" in refused.value.message and "bank account" in refused.value.message
    draft.refresh_from_db()
    assert (draft.status, draft.number, draft.journal_entry_id) == (InvoiceStatus.DRAFT, None, None)


def test_one_missing_detail_is_named_alone(periods, finance):
    entity = entity_default()
    entity.bank_accounts.all().delete()
    draft = _draft()
    with pytest.raises(ConflictError) as refused:
        invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 1))
    assert list(refused.value.fields) == ["bank_accounts"]


def test_the_api_answers_409_with_the_details_named(periods, api_as, no_seller):
    api = api_as("finance")
    draft = _draft()
    response = api.post(f"/api/v1/billing/invoices/{draft.pk}/issue/", {"issue_date": "2026-02-01"}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "seller_details_missing"
    assert set(body["fields"]) == set(REQUIRED)
    assert Invoice.objects.get(pk=draft.pk).status == InvoiceStatus.DRAFT


def test_the_page_shows_the_refusal_naming_the_details(periods, client_as, no_seller):
    client = client_as("finance")
    draft = _draft()
    response = client.post(reverse("billing:invoice-issue", args=[draft.pk]), follow=True)
    text = response.content.decode()
    assert "Legal name is required" in text and "bank account is required" in text
    assert Invoice.objects.get(pk=draft.pk).status == InvoiceStatus.DRAFT


def test_an_issued_invoice_carries_its_entity_as_it_is_when_issued(periods, finance, no_seller):
    # Given a draft made while the entity was not complete
    draft = _draft()
    # When the entity's details are completed and the draft is issued
    entity = no_seller
    entity.legal_name, entity.country = "Acme Advisory GmbH", "AT"
    entity.street, entity.postcode, entity.city = "1 Main Street", "1010", "Vienna"
    entity.vat_id = "ATU13585627"
    entity.save()
    bank_account_add(by=finance, entity_id=entity.pk, iban="AT611904300234573201", currency=draft.currency)
    invoice = invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 1))
    # Then the invoice prints those details
    assert invoice.seller["legal_name"] == "Acme Advisory GmbH"
    assert invoice.seller["iban"] == "AT611904300234573201"
    assert (invoice.seller["country"], invoice.seller["city"]) == ("AT", "Vienna")


def _uk(finance) -> LegalEntity:
    entity_default()  # the firm's first entity (seeded from the settings) exists before the second one
    uk = entity_create(
        by=finance,
        values={
            "code": "UK", "series_prefix": "GB", "name": "Northwind UK", "legal_name": "Northwind Consulting UK Ltd",
            "street": "1 King Street", "postcode": "EC2V 8AU", "city": "London", "country": "GB",
            "vat_id": "GB123456727", "functional_currency": "EUR", "invoice_footer": "Registered in England 0123",
        },
    )  # fmt: skip
    bank_account_add(by=finance, entity_id=uk.pk, iban="GB29NWBK60161331926819", bic="NWBKGB2L", currency="EUR")
    return uk


def test_an_invoice_of_another_entity_prints_that_entity_and_takes_its_series(periods, finance):
    uk = _uk(finance)
    home = _draft()
    away = _draft(uk)
    home = invoice_issue(invoice_id=home.pk, by=finance, on=date(2026, 2, 1))
    away = invoice_issue(invoice_id=away.pk, by=finance, on=date(2026, 2, 1))
    assert home.number == "INV-2026-000001"
    assert away.number == "GB-INV-2026-000001"
    assert away.seller["legal_name"] == "Northwind Consulting UK Ltd"
    assert away.seller["iban"] == "GB29NWBK60161331926819"
    assert away.seller["footer"] == "Registered in England 0123"
    assert home.seller["legal_name"] == "Northwind Consulting GmbH"
    # The journal entries are in each entity's books and series
    assert away.journal_entry.entity_id == uk.pk
    assert away.journal_entry.number.startswith("GB-JE-2026-")
    assert home.journal_entry.entity_id == entity_default().pk


def test_chronology_is_per_entity_series(periods, finance):
    uk = _uk(finance)
    invoice_issue(invoice_id=_draft(uk).pk, by=finance, on=date(2026, 2, 10))
    # An earlier date is still fine in another entity's series
    home = invoice_issue(invoice_id=_draft().pk, by=finance, on=date(2026, 2, 1))
    assert home.number == "INV-2026-000001"
