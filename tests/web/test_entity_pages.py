"""Legal entity pages and API, for finance and administrators: the list, an entity's page, the create and edit
forms with refusals inline under the field as it is labelled, adding a bank account, the logo (PNG, JPEG or SVG
within its limit, served only through the checked file view). Everyone else is refused."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from psa.core.entities import bank_account_add, entity_create, entity_default
from psa.core.models import EntityBankAccount, LegalEntity, NumberSeries
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10"/></svg>'
UK = {
    "code": "UK", "series_prefix": "GB", "name": "Northwind UK", "legal_name": "Northwind Consulting UK Ltd",
    "street": "1 King Street", "postcode": "EC2V 8AU", "city": "London", "country": "GB",
    "vat_id": "GB123456727", "functional_currency": "EUR", "fiscal_year_start_month": 4,
    "invoice_footer": "Registered in England and Wales",
}  # fmt: skip


@pytest.fixture(autouse=True)
def _german_default_entity(settings):
    """The default entity is the demo's German one here (the tests' seller is in GB elsewhere, tests/conftest.py)."""
    settings.PSA_FIRM_COUNTRY = "DE"
    settings.PSA_FIRM_TAX_ID = "DE123456788"
    settings.PSA_FIRM_ADDRESS = "12 Harbour Street\n10115 Berlin"


def _uk(by) -> LegalEntity:
    entity_default()
    return entity_create(by=by, values=UK)


# --- who may open them -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["consultant", "sales", "client", "project_manager"])
def test_only_finance_and_admins_reach_entity_pages(client_as, finance, role):
    uk = _uk(finance)
    client = client_as(role)
    for url in ("/entities/", "/entities/new/", f"/entities/{uk.pk}/", f"/entities/{uk.pk}/edit/"):
        assert client.get(url).status_code == 403, url
    assert client.post("/entities/new/", {**UK, "code": "X1", "series_prefix": "X1"}).status_code == 403
    assert LegalEntity.objects.count() == 2


@pytest.mark.parametrize("role", ["consultant", "sales", "client", "project_manager"])
def test_only_finance_and_admins_reach_the_entity_api(api_as, finance, role):
    uk = _uk(finance)
    api = api_as(role)
    assert api.get("/api/v1/entities/").status_code == 403
    assert api.get(f"/api/v1/entities/{uk.pk}/").status_code == 403
    assert api.post("/api/v1/entities/", {**UK, "code": "X1", "series_prefix": "X1"}, format="json").status_code == 403
    assert api.patch(f"/api/v1/entities/{uk.pk}/", {"name": "X"}, format="json").status_code == 403
    assert LegalEntity.objects.get(pk=uk.pk).name == "Northwind UK"


def test_signed_out_visitors_go_to_the_login_and_api_callers_get_401(finance):
    uk = _uk(finance)
    anonymous = Client()
    for url in ("/entities/", f"/entities/{uk.pk}/"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    response = anonymous.get("/api/v1/entities/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_the_menu_offers_legal_entities_to_finance_only(client_as):
    assert 'href="/entities/"' in client_as("finance").get("/").content.decode()
    assert 'href="/entities/"' not in client_as("consultant").get("/").content.decode()


# --- list and detail -------------------------------------------------------------------------------------------
def test_the_list_shows_each_entity_with_its_country_vat_id_and_currency(client_as, finance):
    _uk(finance)
    body = client_as("finance").get("/entities/").content.decode()
    for text in ("UK", "Northwind UK", "GB", "GB123456727", "EUR", "GB-INV", "DE123456788", "active"):
        assert text in body


def test_the_entity_page_shows_address_ids_bank_accounts_and_footer(client_as, finance):
    uk = _uk(finance)
    bank_account_add(by=finance, entity_id=uk.pk, iban="GB29NWBK60161331926819", bic="NWBKGB2L", currency="EUR")
    body = client_as("admin").get(f"/entities/{uk.pk}/").content.decode()
    for text in ("Northwind Consulting UK Ltd", "1 King Street", "EC2V 8AU London", "GB123456727",
                 "GB29NWBK60161331926819", "NWBKGB2L", "Registered in England and Wales"):  # fmt: skip
        assert text in body


def test_the_list_page_and_the_api_cost_the_same_queries_for_two_and_twelve_entities(client_as, api_as, finance):
    _uk(finance)
    page, api = client_as("finance"), api_as("finance")
    page.get("/entities/"), api.get("/api/v1/entities/")  # warm: first-request lookups are not the list's
    small_page, _ = count_queries(lambda: page.get("/entities/"))
    small_api, _ = count_queries(lambda: api.get("/api/v1/entities/"))
    for i in range(10):
        entity = entity_create(by=finance, values={**UK, "code": f"X{i}", "series_prefix": f"X{i}"})
        bank_account_add(by=finance, entity_id=entity.pk, iban="GB29NWBK60161331926819", currency="EUR")
    large_page, response = count_queries(lambda: page.get("/entities/"))
    large_api, api_response = count_queries(lambda: api.get("/api/v1/entities/"))
    assert "X9" in response.content.decode()
    assert api_response.json()["count"] == 12
    assert (large_page, large_api) == (small_page, small_api)


# --- create and edit -------------------------------------------------------------------------------------------
def test_finance_creates_an_entity_through_the_form(client_as):
    entity_default()
    response = client_as("finance").post("/entities/new/", {**UK, "is_active": "on"})
    uk = LegalEntity.objects.get(code="UK")
    assert response.status_code == 302 and response["Location"] == f"/entities/{uk.pk}/"
    assert (uk.legal_name, uk.city, uk.fiscal_year_start_month) == ("Northwind Consulting UK Ltd", "London", 4)


def test_a_bad_vat_id_is_refused_under_its_label_and_the_form_keeps_what_was_typed(client_as):
    entity_default()
    response = client_as("finance").post("/entities/new/", {**UK, "vat_id": "GB123456789", "street": "9 Elm Row"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Not saved. Check VAT id" in body
    assert "is not a valid GB VAT id" in body
    assert 'value="GB123456789"' in body and 'value="9 Elm Row"' in body
    assert not LegalEntity.objects.filter(code="UK").exists()


def test_a_taken_series_prefix_is_refused_naming_it(client_as, finance):
    _uk(finance)
    response = client_as("finance").post("/entities/new/", {**UK, "code": "UK2"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Check Series prefix" in body and "each entity needs its own" in body


def test_editing_changes_the_entity_and_keeps_the_rest(client_as, finance):
    uk = _uk(finance)
    values = {**UK, "invoice_footer": "Company no. 01234567", "is_active": "on"}
    response = client_as("finance").post(f"/entities/{uk.pk}/edit/", values)
    assert response.status_code == 302
    uk.refresh_from_db()
    assert (uk.invoice_footer, uk.vat_id) == ("Company no. 01234567", "GB123456727")


def test_once_numbered_the_form_shows_code_prefix_and_currency_fixed(client_as, finance):
    uk = _uk(finance)
    NumberSeries.objects.create(series="GB-INV", year=2026, last=1)
    client = client_as("finance")
    assert "Fixed: the entity has numbered documents" in client.get(f"/entities/{uk.pk}/edit/").content.decode()
    # A changed value posted anyway is ignored for a disabled field: the entity keeps its series
    response = client.post(f"/entities/{uk.pk}/edit/", {**UK, "series_prefix": "UK", "name": "Northwind Britain"})
    assert response.status_code == 302
    uk.refresh_from_db()
    assert (uk.series_prefix, uk.name) == ("GB", "Northwind Britain")


def test_the_api_creates_reads_and_refuses_with_the_field_named(api_as):
    entity_default()
    api = api_as("admin")
    created = api.post("/api/v1/entities/", UK, format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert api.get(f"/api/v1/entities/{pk}/").json()["legal_name"] == "Northwind Consulting UK Ltd"
    bad = api.patch(f"/api/v1/entities/{pk}/", {"vat_id": "GB1"}, format="json")
    assert bad.status_code == 400
    assert "vat_id" in bad.json()["fields"]
    NumberSeries.objects.create(series="GB-INV", year=2026, last=1)
    fixed = api.patch(f"/api/v1/entities/{pk}/", {"functional_currency": "USD"}, format="json")
    assert fixed.status_code == 400 and "functional_currency" in fixed.json()["fields"]
    ok = api.patch(f"/api/v1/entities/{pk}/", {"email": "billing@northwind.example"}, format="json")
    assert ok.status_code == 200 and ok.json()["email"] == "billing@northwind.example"
    account = api.post(
        f"/api/v1/entities/{pk}/bank-accounts/", {"iban": "GB29 NWBK 6016 1331 9268 19", "currency": "EUR"},
        format="json",
    )  # fmt: skip
    assert account.status_code == 201 and account.json()["iban"] == "GB29NWBK60161331926819"
    assert api.post(f"/api/v1/entities/{pk}/bank-accounts/", {"iban": "GB00", "currency": "EUR"}, format="json").json()[
        "fields"
    ]["iban"]


# --- bank accounts and logo ------------------------------------------------------------------------------------
def test_a_bank_account_is_added_and_a_bad_iban_is_refused_inline(client_as, finance):
    uk = _uk(finance)
    client = client_as("finance")
    ok = client.post(f"/entities/{uk.pk}/bank-accounts/", {"iban": "GB29NWBK60161331926819", "currency": "EUR",
                                                            "is_default": "on"})  # fmt: skip
    assert ok.status_code == 302
    bad = client.post(f"/entities/{uk.pk}/bank-accounts/", {"iban": "GB29NWBK60161331926818", "currency": "EUR"})
    assert bad.status_code == 400
    assert "Not a valid IBAN" in bad.content.decode() and 'value="GB29NWBK60161331926818"' in bad.content.decode()
    assert EntityBankAccount.objects.filter(entity=uk).count() == 1


def test_a_png_logo_is_stored_and_served_only_through_the_checked_view(client_as, finance, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    uk = _uk(finance)
    client = client_as("finance")
    response = client.post(f"/entities/{uk.pk}/logo/", {"logo": SimpleUploadedFile("logo.png", PNG)})
    assert response.status_code == 302
    uk.refresh_from_db()
    assert uk.logo.name.startswith("entities/uk-logo")
    page = client.get(f"/entities/{uk.pk}/").content.decode()
    assert f'src="/files/entity-logo/{uk.pk}/"' in page and "/media/" not in page
    served = client.get(f"/files/entity-logo/{uk.pk}/")
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == PNG
    assert client_as("consultant").get(f"/files/entity-logo/{uk.pk}/").status_code == 404
    assert api_logo_url(client_as("admin"), uk.pk) == f"http://testserver/api/v1/files/entity-logo/{uk.pk}/"


def api_logo_url(client, pk: int) -> str:
    return client.get(f"/api/v1/entities/{pk}/").json()["logo_url"]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("logo.gif", b"GIF89a", "files are not accepted"),
        ("logo.png", b"<html>", "does not match the file type"),
        ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "without scripts"),
        ("logo.svg", b"<svg><image href='http://example.com/x.png'/></svg>", "without scripts"),
        ("logo.png", b"\x89PNG\r\n\x1a\n" + b"0" * (1024 * 1024), "at most 1 MB"),
    ],
)
def test_a_logo_that_is_not_a_small_png_jpeg_or_clean_svg_is_refused(client_as, finance, settings, tmp_path,
                                                                      name, content, reason):  # fmt: skip
    settings.MEDIA_ROOT = tmp_path
    uk = _uk(finance)
    response = client_as("finance").post(f"/entities/{uk.pk}/logo/", {"logo": SimpleUploadedFile(name, content)})
    assert response.status_code == 400
    assert reason in response.content.decode()
    uk.refresh_from_db()
    assert not uk.logo


def test_an_svg_logo_is_sandboxed_when_opened(client_as, finance, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    uk = _uk(finance)
    client = client_as("finance")
    svg = SVG
    assert client.post(f"/entities/{uk.pk}/logo/", {"logo": SimpleUploadedFile("l.svg", svg)}).status_code == 302
    served = client.get(f"/files/entity-logo/{uk.pk}/")
    assert served["Content-Type"] == "image/svg+xml"
    assert served["Content-Security-Policy"].startswith("sandbox")
