"""An entity's code, series prefix and functional currency are fixed once it has numbered documents: its numbers
carry the prefix and its books are kept in its currency. Before that, they may still change."""

import pytest

from psa.core.entities import entity_create, entity_default, entity_update
from psa.core.exceptions import ValidationFailed
from psa.core.models import LegalEntity, NumberSeries

pytestmark = pytest.mark.django_db

UK = {
    "code": "UK", "series_prefix": "GB", "name": "Northwind UK", "legal_name": "Northwind Consulting UK Ltd",
    "street": "1 King Street", "postcode": "EC2V 8AU", "city": "London", "country": "GB",
    "vat_id": "GB123456727", "functional_currency": "EUR",
}  # fmt: skip


@pytest.fixture
def uk(finance) -> LegalEntity:
    entity_default()
    return entity_create(by=finance, values=UK)


@pytest.mark.parametrize(("field", "value"), [("code", "UK2"), ("series_prefix", "UK")])
def test_a_fixed_detail_of_an_entity_with_numbered_documents_is_refused(uk, finance, field, value):
    # Given the entity has numbered an invoice in its series
    NumberSeries.objects.create(series="GB-INV", year=2026, last=1)
    # When its code, prefix or currency is changed
    with pytest.raises(ValidationFailed) as refused:
        entity_update(by=finance, entity_id=uk.pk, values={field: value})
    # Then the change is refused naming the field, and nothing changed
    assert field in refused.value.fields
    assert "numbered documents" in refused.value.fields[field][0]
    uk.refresh_from_db()
    assert (uk.code, uk.series_prefix, uk.functional_currency) == ("UK", "GB", "EUR")


def test_the_same_value_again_is_not_a_change(uk, finance):
    NumberSeries.objects.create(series="GB-INV", year=2026, last=1)
    entity = entity_update(by=finance, entity_id=uk.pk, values={"code": "UK", "name": "Northwind Britain"})
    assert entity.name == "Northwind Britain"


def test_another_entitys_documents_do_not_fix_this_one(uk, finance):
    # Numbers of the entity without a prefix (INV-...) and of another prefix (GBX-...) are not this entity's
    NumberSeries.objects.create(series="INV", year=2026, last=3)
    NumberSeries.objects.create(series="GBX-INV", year=2026, last=3)
    entity = entity_update(by=finance, entity_id=uk.pk, values={"series_prefix": "UK"})
    assert entity.series_prefix == "UK"


def test_the_entity_without_a_prefix_is_fixed_by_series_without_one(uk, finance):
    home = entity_default()
    NumberSeries.objects.create(series="GB-INV", year=2026, last=1)
    # The GB entity's numbers do not fix the entity without a prefix
    assert entity_update(by=finance, entity_id=home.pk, values={"code": "HQ"}).code == "HQ"
    # Its own journal numbers (JE-2026-...) do
    NumberSeries.objects.create(series="JE", year=2026, last=1)
    with pytest.raises(ValidationFailed) as refused:
        entity_update(by=finance, entity_id=home.pk, values={"series_prefix": "DE"})
    assert "series_prefix" in refused.value.fields
