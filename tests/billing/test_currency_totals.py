"""Billing aggregates state their currencies: the run preview and AR aging (page, CSV, API, home panel) show
per-currency figures and a functional-currency total at named rates; a missing rate shows the figures and says
which currency and date lack a rate, with no converted total (never 1:1)."""

import csv
import io
import re
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.selectors import ar_aging, dso
from psa.core.models import ExchangeRate
from tests.billing.factories import issued_invoice, make_account, milestone_contract
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db
RATE_DAY = date(2026, 1, 2)


def usd_rate(value: str = "0.92", on: date = RATE_DAY) -> ExchangeRate:
    return ExchangeRate.objects.create(currency="USD", quote="EUR", date=on, rate=Decimal(value))


def text(response) -> str:
    assert response.status_code == 200
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


@pytest.fixture
def two_currency_receivables(periods, finance):
    """EUR 120.00 and USD 240.00 open (gross, 20% VAT), both issued 1 Feb 2026 and due 3 Mar."""
    usd_rate()
    eur = issued_invoice(finance, "100.00", account=make_account(name="Euro GmbH"))
    usd = issued_invoice(finance, "200.00", account=make_account(name="Dollar Inc", currency="USD"))
    assert (eur.currency, eur.gross_total, usd.currency, usd.gross_total) == ("EUR", 120, "USD", 240)
    return eur, usd


# --- billing run preview ------------------------------------------------------------------------------------
def _preview_page(client):
    response = client.post(
        reverse("billing:run-new"), {"period_end": "2026-01-31", "scope": "all", "idempotency_key": "fx-1"}
    )
    return client.get(response["Location"])


def test_the_run_preview_shows_each_currency_and_the_total_converted_at_the_named_rate(client_as, periods):
    usd_rate()
    milestone_contract("1000.00", account=make_account(currency="EUR"))
    milestone_contract("2000.00", account=make_account(currency="USD"))
    page = text(_preview_page(client_as("finance")))
    assert "EUR 2,840.00 EUR 1,000.00 · USD 2,000.00 at 1 USD = 0.92 EUR (rates of 2026-01-02) Net to invoice" in page
    assert "2,000.00 USD" in page and "1,000.00 EUR" in page  # each row in its own currency
    assert "3,000.00" not in page  # 1,000 EUR + 2,000 USD is never added up


def test_the_run_preview_without_a_rate_shows_the_figures_names_the_currency_and_converts_nothing(client_as, periods):
    milestone_contract("1000.00", account=make_account(currency="EUR"))
    milestone_contract("2000.00", account=make_account(currency="USD"))
    response = _preview_page(client_as("finance"))
    page = text(response)
    assert "EUR 1,000.00 USD 2,000.00" in page
    assert f"No exchange rate into EUR for USD on or before {date.today():%Y-%m-%d}" in page
    assert "EUR 3,000.00" not in page and "→ EUR" not in page and "rates of" not in page


def test_a_single_currency_preview_stays_one_figure_with_its_code(client_as, periods):
    milestone_contract("10.04", "10.04", "10.04")
    page = text(_preview_page(client_as("finance")))
    assert "EUR 30.12 Net to invoice" in page and "rates of" not in page


# --- AR aging -----------------------------------------------------------------------------------------------
def test_aging_keeps_currencies_apart_and_converts_the_total_at_the_as_of_rate(two_currency_receivables):
    aging = ar_aging(as_of=date(2026, 2, 15))
    assert [(r.name, r.currency, r.current) for r in aging.rows] == [
        ("Dollar Inc", "USD", Decimal("240.00")),
        ("Euro GmbH", "EUR", Decimal("120.00")),
    ]
    assert aging.by_currency["USD"]["total"] == Decimal("240.00")
    assert aging.by_currency["EUR"]["total"] == Decimal("120.00")
    total = aging.converted["total"]
    assert total.total == Decimal("340.80") and total.rates_text == "1 USD = 0.92 EUR (rates of 2026-01-02)"


def test_an_account_billed_in_two_currencies_has_a_row_per_currency(periods, finance):
    usd_rate()
    account = make_account(name="Both Ltd")
    issued_invoice(finance, "100.00", account=account)
    account.currency = "USD"
    account.save()
    issued_invoice(finance, "50.00", account=account)
    aging = ar_aging(as_of=date(2026, 2, 15))
    assert [(r.currency, r.total) for r in aging.rows] == [("EUR", Decimal("120.00")), ("USD", Decimal("60.00"))]
    assert aging.converted["total"].total == Decimal("175.20")


def test_dso_converts_open_and_invoiced_at_the_same_rates(two_currency_receivables):
    # open 340.80 EUR / invoiced 340.80 EUR in the last 90 days x 90
    assert dso(as_of=date(2026, 2, 15)) == Decimal("90.0")
    ExchangeRate.objects.all().delete()
    assert dso(as_of=date(2026, 2, 15)) is None


def test_the_aging_page_shows_per_currency_totals_and_the_converted_total_with_its_rate(
    client_as, two_currency_receivables
):
    page = text(client_as("finance").get(reverse("billing:ar"), {"as_of": "2026-02-15"}))
    assert "EUR 340.80 EUR 120.00 · USD 240.00 at 1 USD = 0.92 EUR (rates of 2026-01-02) Open receivables" in page
    assert "Total EUR EUR 120.00 0.00 0.00 0.00 0.00 120.00 0.00" in page
    assert "Total USD USD 240.00 0.00 0.00 0.00 0.00 240.00 0.00" in page
    assert "Total in EUR EUR 340.80 0.00 0.00 0.00 0.00 340.80 0.00" in page
    assert "Converted at 1 USD = 0.92 EUR (rates of 2026-01-02)." in page


def test_the_aging_page_without_a_rate_shows_the_figures_and_says_which_rate_is_missing(
    client_as, two_currency_receivables
):
    ExchangeRate.objects.all().delete()
    page = text(client_as("finance").get(reverse("billing:ar"), {"as_of": "2026-02-15"}))
    assert "EUR 120.00 USD 240.00 " in page and "Total USD USD 240.00 0.00" in page
    assert "No exchange rate into EUR for USD on or before 2026-02-15" in page
    assert "EUR 360.00" not in page and "Total in EUR" not in page


def test_the_aging_csv_has_a_currency_column(client_as, two_currency_receivables):
    response = client_as("finance").get(reverse("billing:ar"), {"as_of": "2026-02-15", "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["account"], r["currency"], r["current"], r["total"]) for r in rows] == [
        ("Dollar Inc", "USD", "240.00", "240.00"),
        ("Euro GmbH", "EUR", "120.00", "120.00"),
    ]


def test_the_aging_api_answers_per_currency_and_converted_totals_with_the_rates(api_as, two_currency_receivables):
    data = api_as("finance").get("/api/v1/billing/ar-aging/", {"as_of": "2026-02-15"}).json()
    assert data["functional_currency"] == "EUR"
    assert data["totals_by_currency"]["USD"]["total"] == "240.00"
    assert data["totals_by_currency"]["EUR"]["current"] == "120.00"
    assert data["functional_totals"]["total"] == "340.80" and data["functional_totals"]["d90"] == "0.00"
    assert data["rates"] == [
        {"currency": "USD", "rate": "0.92", "date": "2026-01-02", "rate_label": "1 USD = 0.92 EUR (2026-01-02)"}
    ]
    assert data["missing_rates"] == [] and data["message"] == ""
    assert {(a["name"], a["currency"]) for a in data["accounts"]} == {("Dollar Inc", "USD"), ("Euro GmbH", "EUR")}


def test_the_aging_api_without_a_rate_gives_no_converted_totals_and_names_the_gap(api_as, two_currency_receivables):
    ExchangeRate.objects.all().delete()
    response = api_as("finance").get("/api/v1/billing/ar-aging/", {"as_of": "2026-02-15"})
    assert response.status_code == 200
    data = response.json()
    assert data["functional_totals"]["total"] is None and data["totals_by_currency"]["USD"]["total"] == "240.00"
    assert data["missing_rates"] == [{"currency": "USD", "date": "2026-02-15"}]
    assert "USD" in data["message"] and "2026-02-15" in data["message"]


def test_the_home_panel_shows_the_converted_receivables_with_the_rate(client_as, two_currency_receivables):
    usd_rate("0.90", date(2026, 2, 1))  # the latest rate on or before today
    page = text(client_as("finance").get("/"))
    assert "EUR 336.00 Open" in page and "EUR 120.00 · USD 240.00 at 1 USD = 0.9 EUR (rates of 2026-02-01)" in page


def test_the_aging_page_costs_the_same_queries_with_more_currencies_and_clients(client_as, periods, settings):
    settings.PSA_PAGE_CACHE_SECONDS = 0  # computed on each view (reuse: tests/web/test_pagecache.py)
    client = client_as("finance")
    usd_rate()
    ExchangeRate.objects.create(currency="GBP", quote="EUR", date=RATE_DAY, rate=Decimal("1.17"))

    def grow(n: int):
        for i in range(n):
            issued_invoice(client.user, "10.00", account=make_account(currency=("EUR", "USD", "GBP")[i % 3]))

    grow(2)
    small, _ = count_queries(lambda: client.get(reverse("billing:ar")), status=200)
    grow(6)
    large, _ = count_queries(lambda: client.get(reverse("billing:ar")), status=200)
    assert large == small
