"""/api/v1/exchange-rates/: finance and admin read and write the rate table and import the ECB file; other roles
get 403; bad input is a 400 naming the field; the list filters, pages and keeps its query count."""

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from psa.core.models import ExchangeRate, RateSource
from psa.core.rates import exchange_rate_set
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db

URL = "/api/v1/exchange-rates/"
HISTORY = (Path(__file__).resolve().parent.parent / "fixtures" / "ecb" / "eurofxref-hist.csv").read_bytes()


def seed(n: int, currency: str = "USD", start: date = date(2026, 1, 1)) -> None:
    ExchangeRate.objects.bulk_create(
        ExchangeRate(currency=currency, quote="EUR", date=start + timedelta(days=i), rate=Decimal("0.9") + i)
        for i in range(n)
    )


@pytest.mark.parametrize("role", ["consultant", "sales", "project_manager", "client"])
def test_other_roles_may_not_read_or_write_rates(api_as, role):
    api = api_as(role)
    assert api.get(URL).status_code == 403
    response = api.post(URL, {"currency": "USD", "date": "2026-12-04", "rate": "0.92"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not ExchangeRate.objects.exists()


@pytest.mark.parametrize("role", ["finance", "admin"])
def test_finance_and_admin_enter_a_rate_and_a_second_post_corrects_it(api_as, role):
    api = api_as(role)

    created = api.post(URL, {"currency": "USD", "date": "2026-12-04", "rate": "0.9213"}, format="json")
    corrected = api.post(URL, {"currency": "USD", "date": "2026-12-04", "rate": "0.9250"}, format="json")

    assert created.status_code == 201 and corrected.status_code == 200
    body = corrected.json()
    assert (body["currency"], body["quote"], body["date"], body["source"]) == ("USD", "EUR", "2026-12-04", "api")
    assert Decimal(body["rate"]) == Decimal("0.9250")
    assert ExchangeRate.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "EUR"}, "currency"),
        ({"rate": "-1"}, "rate"),
        ({"rate": "0.12345678901"}, "rate"),
        ({"rate": "lots"}, "rate"),
        ({"date": "2026-02-30"}, "date"),
        ({"source": "guess"}, "source"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api_as, payload, field):
    body = {"currency": "USD", "date": "2026-12-04", "rate": "0.92"} | payload

    response = api_as("finance").post(URL, body, format="json")

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert set(response.json()) == {"code", "message", "fields"}
    assert not ExchangeRate.objects.exists()


def test_patch_corrects_a_rate_and_delete_removes_it(api_as):
    api = api_as("finance")
    row = exchange_rate_set(currency="GBP", on=date(2026, 12, 4), rate="1.17", by=api.user).row

    patched = api.patch(f"{URL}{row.pk}/", {"rate": "1.1712"}, format="json")
    assert patched.status_code == 200 and Decimal(patched.json()["rate"]) == Decimal("1.1712")
    assert api.patch(f"{URL}{row.pk}/", {"rate": "0"}, format="json").json()["fields"].keys() == {"rate"}

    assert api.delete(f"{URL}{row.pk}/").status_code == 204
    assert api.delete(f"{URL}{row.pk}/").status_code == 404
    assert not ExchangeRate.objects.exists()


def test_the_list_filters_by_currency_date_range_and_source(api_as):
    seed(10, "USD")
    seed(5, "GBP")
    ExchangeRate.objects.filter(currency="GBP", date=date(2026, 1, 3)).update(source=RateSource.ECB)
    api = api_as("finance")

    usd = api.get(URL, {"currency": "USD", "date_from": "2026-01-03", "date_to": "2026-01-05"}).json()
    ecb = api.get(URL, {"source": "ecb"}).json()

    assert usd["count"] == 3 and {r["date"] for r in usd["results"]} == {"2026-01-03", "2026-01-04", "2026-01-05"}
    assert [(r["currency"], r["date"]) for r in ecb["results"]] == [("GBP", "2026-01-03")]
    bad = api.get(URL, {"date_from": "soon"})
    assert bad.status_code == 400 and "date_from" in bad.json()["fields"]


def test_the_list_pages_with_a_fixed_query_count(api_as):
    api = api_as("finance")
    seed(3)
    api.get(URL)  # the first request of a test client also loads the user's roles
    small, _ = count_queries(lambda: api.get(URL))
    seed(120, "GBP")
    large, response = count_queries(lambda: api.get(URL))
    assert large == small
    assert response.json()["count"] == 123 and len(response.json()["results"]) == 50


def test_the_ecb_import_dry_runs_then_applies(api_as):
    api = api_as("finance")

    def upload(dry_run: bool, key: str | None = None):
        headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
        file = SimpleUploadedFile("eurofxref-hist.csv", HISTORY, content_type="text/csv")
        return api.post(f"{URL}import/", {"file": file, "dry_run": dry_run}, format="multipart", **headers)

    dry = upload(True)
    assert dry.status_code == 200
    assert (dry.json()["created"], dry.json()["rows"], dry.json()["skipped_currencies"]) == (
        28,
        4,
        ["BGN", "CYP", "RUB"],
    )
    assert not ExchangeRate.objects.exists()

    applied = upload(False, key="ecb-2026-12-04")
    replayed = upload(False, key="ecb-2026-12-04")

    assert applied.status_code == 200 and applied.json()["created"] == 28
    assert replayed.headers["Idempotent-Replayed"] == "true" and replayed.json() == applied.json()
    assert upload(False).json()["unchanged"] == 28
    assert ExchangeRate.objects.filter(source=RateSource.ECB).count() == 28


def test_an_ecb_file_with_a_bad_row_is_a_400_listing_the_line(api_as):
    content = HISTORY + b"2006-12-29,1.3170,oops,N/A,N/A,27.485,7.4560,0.67150,1.6069,34.6800,9.2124,\n"
    file = SimpleUploadedFile("eurofxref-hist.csv", content, content_type="text/csv")

    response = api_as("finance").post(f"{URL}import/", {"file": file, "dry_run": False}, format="multipart")

    assert response.status_code == 400
    assert response.json()["fields"]["file"][0].startswith("Line 6:")
    assert not ExchangeRate.objects.exists()


def test_a_consultant_may_not_import(api_as):
    file = SimpleUploadedFile("eurofxref-hist.csv", HISTORY, content_type="text/csv")
    response = api_as("consultant").post(f"{URL}import/", {"file": file, "dry_run": False}, format="multipart")
    assert response.status_code == 403
    assert not ExchangeRate.objects.exists()
