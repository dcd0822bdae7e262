"""The demo firm has three legal entities (the Berlin GmbH, the default, seeded from the settings; a UK Ltd and a
US Inc.), each able to invoice, a few consultants employed by the UK and US entities staffed on the default
entity's projects, and a client of the UK entity whose won deal is invoiced in the GB-INV series."""

import pytest

from billing.models import Invoice
from crm.models import Account
from projects.models import Consultant, Contract, TimeEntry
from psa.core.currency import functional_currency
from psa.core.entities import ENTITY_FIELDS, entity_default, entity_errors, seller_missing
from psa.core.models import LegalEntity
from psa.web.demo import seed_all

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _german_default_entity(settings):
    """The default entity is the demo's German one here (the tests' seller is in GB elsewhere, tests/conftest.py)."""
    settings.PSA_FIRM_COUNTRY = "DE"
    settings.PSA_FIRM_TAX_ID = "DE123456788"
    settings.PSA_FIRM_ADDRESS = "12 Harbour Street\n10115 Berlin"


@pytest.mark.slow  # seeds the whole demo firm
def test_the_demo_seeds_three_entities_that_can_invoice_and_work_across_them():
    seed_all()
    entities = {e.code: e for e in LegalEntity.objects.prefetch_related("bank_accounts")}
    assert set(entities) == {"DE", "UK", "US"}
    de, uk, us = entities["DE"], entities["UK"], entities["US"]
    assert entity_default() == de
    assert (de.legal_name, uk.legal_name, us.legal_name) == (
        "Northwind Consulting GmbH", "Northwind Consulting UK Ltd", "Northwind Consulting Inc."
    )  # fmt: skip
    assert (de.series_prefix, uk.series_prefix, us.series_prefix) == ("", "GB", "US")
    for entity in entities.values():
        # Every id passes its check digits; every entity has what an invoice needs; books in the firm's currency
        assert entity_errors({f: getattr(entity, f) for f in ENTITY_FIELDS}) == {}, entity.code
        assert seller_missing(entity, entity.functional_currency) == {}, entity.code
        assert entity.functional_currency == functional_currency()
        assert entity.bank_accounts.exists()
    # Consultants employed by the UK and US entities log time on the default entity's projects
    abroad = Consultant.objects.filter(entity__code__in=["UK", "US"])
    assert abroad.filter(entity=uk).exists() and abroad.filter(entity=us).exists()
    assert TimeEntry.objects.filter(consultant__in=abroad, project__entity=de).exists()
    # The UK entity's clients: a won deal's contract is the UK entity's, and the invoices of its billed client are
    # numbered in its series and print it as the seller
    litware = Account.objects.get(name="Litware Health")
    assert litware.entity == uk
    assert Contract.objects.filter(account=litware, entity=uk).exists()
    thames = Account.objects.get(name="Thames Analytics")
    assert thames.entity == uk
    issued = Invoice.objects.filter(account=thames, number__isnull=False)
    assert issued.exists()
    assert all(i.number.startswith("GB-INV-") and i.seller["legal_name"] == uk.legal_name for i in issued)
    # Seeding again changes nothing
    counts = (LegalEntity.objects.count(), Consultant.objects.filter(entity=uk).count(), Invoice.objects.count())
    seed_all()
    assert (LegalEntity.objects.count(), Consultant.objects.filter(entity=uk).count(), Invoice.objects.count()) == (
        counts
    )
