"""Where people work, the legal entity is shown and can be chosen: the invoice list (a column and a filter) and
page, the project list (a column and a filter) and page (the project's, the contract's and each team member's
employer), and the optional entity select on the account and opportunity forms."""

from datetime import date

import pytest
from django.db import transaction

from billing.services import invoice_draft_for_contract, invoice_issue
from crm.models import Account, Opportunity
from projects.models import Consultant, Contract, Project
from psa.core.entities import bank_account_add, entity_create, entity_default
from psa.core.models import LegalEntity
from tests.billing.factories import make_account, make_periods, milestone_contract
from tests.crm.factories import ensure_default_stages
from tests.projects.time_factories import consultant_on, won_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def periods():
    return make_periods()


@pytest.fixture
def uk(finance) -> LegalEntity:
    entity_default()
    entity = entity_create(
        by=finance,
        values={
            "code": "UK", "series_prefix": "GB", "name": "Northwind UK", "legal_name": "Northwind Consulting UK Ltd",
            "street": "1 King Street", "postcode": "EC2V 8AU", "city": "London", "country": "GB",
            "vat_id": "GB123456727", "functional_currency": "EUR",
        },
    )  # fmt: skip
    bank_account_add(by=finance, entity_id=entity.pk, iban="GB29NWBK60161331926819", currency="EUR")
    return entity


def _issued(finance, entity=None):
    contract, _, _ = milestone_contract("100.00")
    if entity is not None:
        Contract.objects.filter(pk=contract.pk).update(entity=entity)
        contract.refresh_from_db()
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
    return invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 1))


def test_the_invoice_list_shows_and_filters_by_entity(periods, finance, client_as, uk):
    home, away = _issued(finance), _issued(finance, uk)
    client = client_as("finance")
    body = client.get("/billing/invoices/").content.decode()
    assert "Legal entity" in body and away.number in body and home.number in body
    only_uk = client.get(f"/billing/invoices/?entity={uk.pk}").content.decode()
    assert f">{away.number}<" in only_uk and f">{home.number}<" not in only_uk
    page = client.get(f"/billing/invoices/{away.pk}/").content.decode()
    assert "Northwind Consulting UK Ltd (UK)" in page


def test_the_project_list_and_page_show_the_entities(client_as, uk):
    setup = won_project()
    Project.objects.filter(pk=setup.project.pk).update(entity=uk)
    Contract.objects.filter(project=setup.project).update(entity=uk)
    consultant = consultant_on(setup)
    Consultant.objects.filter(pk=consultant.pk).update(entity=uk)
    client = client_as("project_manager")
    listing = client.get("/projects/").content.decode()
    assert 'data-testid="project-entity" title="Northwind Consulting UK Ltd">UK<' in listing
    filtered = client.get(f"/projects/?entity={entity_default().pk}").content.decode()
    assert setup.project.code not in filtered
    page = client.get(f"/projects/{setup.project.pk}/").content.decode()
    assert "Northwind Consulting UK Ltd (UK)" in page
    assert '<span data-testid="contract-entity">UK</span>' in page
    assert 'data-testid="consultant-entity" title="Northwind Consulting UK Ltd">UK<' in page
    staffing = client.get("/staffing/").content.decode()
    assert 'data-testid="consultant-entity" title="Northwind Consulting UK Ltd">UK<' in staffing


def test_the_account_form_offers_the_entity_and_saves_it(client_as, uk):
    client = client_as("sales")
    form = client.get("/crm/accounts/new/").content.decode()
    assert "Legal entity" in form and "UK — Northwind UK" in form
    response = client.post(
        "/crm/accounts/new/",
        {
            "name": "Thames Analytics",
            "currency": "GBP",
            "payment_terms_days": 30,
            "country": "GB",
            "buyer_type": "business",
            "entity": uk.pk,
        },
    )
    assert response.status_code == 302
    account = Account.objects.get(name="Thames Analytics")
    assert account.entity == uk
    assert "Northwind UK" in client.get(f"/crm/accounts/{account.pk}/").content.decode()


def test_the_opportunity_form_offers_the_entity_and_saves_it(client_as, uk):
    ensure_default_stages()
    account = make_account()
    client = client_as("sales")
    assert "Legal entity" in client.get("/crm/opportunities/new/").content.decode()
    response = client.post(
        "/crm/opportunities/new/",
        {"name": "Data platform", "account": account.pk, "expected_close_date": "2026-12-31", "entity": uk.pk},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Opportunity.objects.get(name="Data platform").entity == uk
