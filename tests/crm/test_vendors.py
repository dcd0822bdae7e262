"""Vendors: the service's rules (required fields, VAT id, IBAN, terms, duplicates refused naming the vendor),
who may read and change them on the pages and the API, the list's filters and query budget."""

import pytest
from django.urls import reverse

from crm.models import Vendor
from crm.services import vendor_create, vendor_update
from psa.core.exceptions import ConflictError, PermissionDeniedError, ValidationFailed
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def _vendor(by, **kw):
    values = {"legal_name": "Lumière Conseil SARL", "country": "FR", "tax_id": "FR40303265045", "currency": "EUR"}
    return vendor_create(by=by, **(values | kw))


def test_a_vendor_is_created_with_its_name_defaulting_to_the_legal_name(finance):
    vendor = _vendor(finance, iban="FR76 3000 6000 0112 3456 7890 189")
    assert (vendor.name, vendor.iban) == ("Lumière Conseil SARL", "FR7630006000011234567890189")


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"tax_id": "FR123"}, "tax_id"),
        ({"tax_id": "DE811234565"}, "tax_id"),  # a German id for a French vendor
        ({"iban": "FR7630006000011234567890188"}, "iban"),
        ({"bic": "NOTABIC!"}, "bic"),
        ({"payment_terms_days": 400}, "payment_terms_days"),
        ({"legal_name": ""}, "legal_name"),
        ({"country": ""}, "country"),
    ],
)
def test_bad_vendor_data_is_refused_naming_the_field(finance, fields, bad):
    with pytest.raises(ValidationFailed) as exc:
        _vendor(finance, **fields)
    assert bad in exc.value.fields
    assert not Vendor.objects.exists()


def test_a_second_vendor_with_the_same_tax_id_or_external_id_is_refused_naming_the_first(finance):
    first = _vendor(finance, external_id="X-1")
    with pytest.raises(ConflictError) as exc:
        _vendor(finance, legal_name="Other", tax_id="fr40303265045")
    assert exc.value.status == 409 and str(first.pk) in exc.value.message
    with pytest.raises(ConflictError):
        _vendor(finance, legal_name="Other", tax_id="", external_id="X-1")


@pytest.mark.parametrize("role", ["project_manager", "consultant", "sales", "client"])
def test_only_finance_and_admins_change_vendors(make_user, finance, role):
    with pytest.raises(PermissionDeniedError):
        _vendor(make_user(role))
    vendor = _vendor(finance)
    with pytest.raises(PermissionDeniedError):
        vendor_update(vendor_id=vendor.pk, by=make_user(role), payment_terms_days=10)


def test_the_list_filters_and_costs_the_same_queries_at_two_sizes(finance, client_as):
    page = client_as("project_manager")
    _vendor(finance, name="Lumière", is_subcontractor=True)
    vendor_create(by=finance, legal_name="Kraft GmbH", country="DE", currency="EUR")
    url = reverse("crm:vendors")

    def count():
        return count_queries(lambda: page.get(url, {"country": "DE"}), status=200)[0]

    count()
    small = count()
    for n in range(6):
        vendor_create(by=finance, legal_name=f"Vendor {n} GmbH", country="DE", currency="EUR")
    assert count() == small
    body = page.get(url, {"is_subcontractor": "true"}).content.decode()
    assert "Lumière" in body and "Vendor 1 GmbH" not in body


@pytest.mark.parametrize("role", ["consultant", "sales", "client"])
def test_others_are_refused_the_vendor_pages_and_api(client_as, api_as, role):
    assert client_as(role).get(reverse("crm:vendors")).status_code == 403
    assert api_as(role).get("/api/v1/vendors/").status_code == 403


def test_a_manager_reads_but_may_not_create_on_the_page_or_api(finance, client_as, api_as):
    vendor = _vendor(finance)
    page = client_as("project_manager")
    assert page.get(reverse("crm:vendor", args=[vendor.pk])).status_code == 200
    assert page.get(reverse("crm:vendor-create")).status_code == 403
    api = api_as("project_manager")
    assert api.get(f"/api/v1/vendors/{vendor.pk}/").status_code == 200
    assert api.post("/api/v1/vendors/", {"legal_name": "X", "country": "DE"}, format="json").status_code == 403


def test_the_api_creates_and_refuses_duplicates_with_409(api_as):
    api = api_as("finance")
    body = {"legal_name": "Kraft Digital GmbH", "country": "DE", "tax_id": "DE811234565", "currency": "EUR"}
    created = api.post("/api/v1/vendors/", body, format="json")
    assert created.status_code == 201, created.json()
    duplicate = api.post("/api/v1/vendors/", body | {"legal_name": "Kraft 2"}, format="json")
    assert duplicate.status_code == 409 and "tax_id" in duplicate.json()["fields"]
    bad = api.post("/api/v1/vendors/", body | {"tax_id": "DE1", "legal_name": "K3"}, format="json")
    assert bad.status_code == 400 and "tax_id" in bad.json()["fields"]


def test_the_form_shows_an_invalid_iban_inline(client_as):
    page = client_as("finance")
    response = page.post(
        reverse("crm:vendor-create"),
        {"legal_name": "Kraft", "country": "DE", "currency": "EUR", "payment_terms_days": 30, "iban": "DE00123"},
    )
    assert response.status_code == 400 and "IBAN" in response.content.decode()
