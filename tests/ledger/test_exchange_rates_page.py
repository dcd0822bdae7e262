"""Ledger -> Exchange rates: finance lists and filters rates, adds or corrects one with inline errors, checks an
ECB file and applies it; other roles are refused; the page keeps its query count."""

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from psa.core.models import ExchangeRate
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db

URL = reverse("ledger:exchange_rates")
IMPORT_URL = reverse("ledger:exchange_rates_import")
HISTORY = (Path(__file__).resolve().parent.parent / "fixtures" / "ecb" / "eurofxref-hist.csv").read_bytes()


def seed(n: int, currency: str) -> None:
    start = date(2026, 1, 1)
    ExchangeRate.objects.bulk_create(
        ExchangeRate(currency=currency, quote="EUR", date=start + timedelta(days=i), rate=Decimal("0.9"))
        for i in range(n)
    )


def test_a_consultant_may_not_open_the_page(client_as):
    assert client_as("consultant").get(URL).status_code == 403


def test_finance_adds_a_rate_and_sees_it_listed_and_charted(client_as):
    client = client_as("finance")

    response = client.post(URL, {"rate-currency": "USD", "rate-date": "2026-12-04", "rate-rate": "0.9213"}, follow=True)

    assert ExchangeRate.objects.get().rate == Decimal("0.9213")
    assert b"0.9213" in response.content
    assert response.context["chart_currency"] == "USD"
    assert response.context["chart"]["data"]["datasets"][0]["data"] == ["0.9213000000"]


def test_a_bad_rate_comes_back_inline_naming_the_field(client_as):
    response = client_as("finance").post(
        URL, {"rate-currency": "USD", "rate-date": "2026-12-04", "rate-rate": "0.12345678901"}
    )

    assert response.status_code == 200
    assert "10 decimal places" in response.context["form"].errors["rate"][0]
    assert not ExchangeRate.objects.exists()


def test_the_list_filters_by_currency_and_date_range(client_as):
    seed(10, "USD")
    seed(10, "GBP")

    response = client_as("finance").get(URL, {"currency": "GBP", "date_from": "2026-01-03", "date_to": "2026-01-04"})

    assert [(r.currency, r.date.day) for r in response.context["page_obj"]] == [("GBP", 4), ("GBP", 3)]


def test_the_page_keeps_its_query_count_as_rates_grow(client_as):
    client = client_as("finance")
    seed(3, "USD")
    small, _ = count_queries(lambda: client.get(URL))
    seed(300, "GBP")
    seed(300, "CHF")
    large, response = count_queries(lambda: client.get(URL))
    assert large == small
    assert len(response.context["page_obj"]) == 50


def test_finance_checks_an_ecb_file_then_applies_it(client_as):
    client = client_as("finance")
    file = SimpleUploadedFile("eurofxref-hist.csv", HISTORY, content_type="text/csv")

    checked = client.post(IMPORT_URL, {"file": file})

    report = checked.context["report"]
    assert (report.dry_run, report.created, report.errors) == (True, 28, 0)
    assert b'data-testid="ecb-apply"' in checked.content
    assert not ExchangeRate.objects.exists()

    applied = client.post(IMPORT_URL, {"payload": checked.context["payload"], "confirm": "1"}, follow=True)

    assert ExchangeRate.objects.count() == 28
    assert b"Imported the ECB rates: 28 new" in applied.content


def test_a_file_with_bad_rows_shows_them_and_offers_no_apply(client_as):
    content = HISTORY + b"2006-12-29,1.3170,oops,N/A,N/A,27.485,7.4560,0.67150,1.6069,34.6800,9.2124,\n"

    checked = client_as("finance").post(IMPORT_URL, {"file": SimpleUploadedFile("h.csv", content)})

    assert [p.line for p in checked.context["report"].problems] == [6]
    assert b'data-testid="ecb-apply"' not in checked.content


def test_finance_deletes_a_rate(client_as):
    seed(1, "USD")
    client = client_as("finance")
    client.post(reverse("ledger:exchange_rate_delete", args=[ExchangeRate.objects.get().pk]))
    assert not ExchangeRate.objects.exists()
