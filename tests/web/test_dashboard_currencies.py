"""The dashboard states its currencies: billed and weighted pipeline per currency with the functional total at
the named rates of the range end; a missing rate shows the figures and names the gap (status 200)."""

import re
from datetime import date
from decimal import Decimal

import pytest

from crm.models import Opportunity, Stage
from psa.core.models import ExchangeRate
from psa.web.dashboard import executive_dashboard
from tests.billing.factories import issued_invoice, make_account, make_periods
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db
URL = "/dashboard/?start=2026-01-01&end=2026-03-31"


def _deal(account, owner, amount: str, probability: int) -> Opportunity:
    deal = Opportunity.objects.create(
        name="Deal",
        account=account,
        owner=owner,
        stage=Stage.objects.filter(kind="open").order_by("order").first(),
        currency=account.currency,
        probability=probability,
        expected_close_date=date(2026, 3, 15),
    )
    Opportunity.objects.filter(pk=deal.pk).update(amount=Decimal(amount))
    return deal


@pytest.fixture
def books(make_user):
    make_periods(start=date(2025, 12, 1), through=date(2026, 12, 31))
    finance = make_user("finance")
    ExchangeRate.objects.create(currency="USD", quote="EUR", date=date(2026, 1, 2), rate=Decimal("0.92"))
    dollar = make_account(name="Dollar Inc", currency="USD")
    issued_invoice(finance, "100.00", account=make_account(name="Euro GmbH"))
    issued_invoice(finance, "200.00", account=dollar)
    _deal(dollar, finance, "1000.00", 50)
    return finance


def text(response) -> str:
    assert response.status_code == 200
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def test_billed_and_pipeline_are_shown_per_currency_and_converted_at_the_rates_of_the_range_end(books):
    dash = executive_dashboard(start=date(2026, 1, 1), end=date(2026, 3, 31))
    billed, pipeline = dash.currencies["billed"], dash.currencies["weighted_pipeline"]
    assert [(line.currency, line.amount) for line in billed.lines] == [
        ("EUR", Decimal("100.00")),
        ("USD", Decimal("200.00")),
    ]
    assert billed.total == Decimal("284.00") and pipeline.total == Decimal("460.00")
    assert billed.rates[0].label == "1 USD = 0.92 EUR (2026-01-02)" and billed.on == date(2026, 3, 31)


def test_the_dashboard_page_names_the_currencies_the_total_and_the_rate(client_as, books):
    page = text(client_as("finance").get(URL))
    assert "EUR 100.00 · USD 200.00 → EUR 284.00 at 1 USD = 0.92 EUR (rates of 2026-01-02)" in page
    assert "USD 500.00 → EUR 460.00 at 1 USD = 0.92 EUR (rates of 2026-01-02)" in page
    assert "amounts in EUR" in page


def test_the_dashboard_without_a_rate_shows_the_figures_and_names_the_missing_rate(client_as, books):
    ExchangeRate.objects.all().delete()
    page = text(client_as("finance").get(URL))
    assert "EUR 100.00 · USD 200.00" in page and "EUR 284.00" not in page
    assert "No exchange rate into EUR for USD on or before 2026-03-31" in page


def test_the_dashboard_api_gives_per_currency_figures_the_converted_total_and_the_rates(api_as, books):
    data = api_as("finance").get("/api/v1/dashboard/", {"start": "2026-01-01", "end": "2026-03-31"}).json()
    billed = data["currencies"]["billed"]
    assert data["functional_currency"] == "EUR" and billed["functional_total"] == "284.00"
    assert billed["currencies"][1]["rate_label"] == "1 USD = 0.92 EUR (2026-01-02)"
    assert data["currencies"]["weighted_pipeline"]["currencies"][0]["amount"] == "500.00"


def test_the_currency_block_costs_the_same_queries_with_more_currencies(books, make_user):
    ExchangeRate.objects.create(currency="GBP", quote="EUR", date=date(2026, 1, 2), rate=Decimal("1.17"))
    small, _ = count_queries(lambda: executive_dashboard(start=date(2026, 1, 1), end=date(2026, 3, 31)))
    finance = make_user("finance")
    for currency in ("GBP", "USD", "EUR", "GBP"):
        account = make_account(currency=currency)
        issued_invoice(finance, "10.00", account=account)
        _deal(account, finance, "100.00", 10)
    large, _ = count_queries(lambda: executive_dashboard(start=date(2026, 1, 1), end=date(2026, 3, 31)))
    assert large == small
