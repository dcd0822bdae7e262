"""Totals across currencies: per-currency figures, the functional total at named rates, and a missing rate."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.template import Context, Template

from psa.core.models import ExchangeRate
from psa.core.totals import currency_totals, currency_totals_many
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db
ON = date(2026, 12, 4)


def rate(currency: str, value: str, on: date = ON) -> ExchangeRate:
    return ExchangeRate.objects.create(currency=currency, quote="EUR", date=on, rate=Decimal(value))


def render(totals, variant: str = "inline") -> str:
    """The component's text, tags stripped and spaces collapsed."""
    html = Template("{% load psa_ui %}{% fx_totals t variant %}").render(Context({"t": totals, "variant": variant}))
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_two_foreign_currencies_convert_at_the_rates_of_the_date_and_add_rounded_parts():
    rate("USD", "0.92", date(2026, 12, 1))
    rate("USD", "0.93", date(2026, 12, 5))  # after the date: not used
    rate("GBP", "1.17", date(2026, 12, 4))
    totals = currency_totals([("USD", Decimal("12000.00")), ("GBP", Decimal("3000.00"))], on=ON)
    assert [(line.currency, line.amount, line.converted) for line in totals.lines] == [
        ("GBP", Decimal("3000.00"), Decimal("3510.00")),
        ("USD", Decimal("12000.00"), Decimal("11040.00")),
    ]
    assert totals.total == Decimal("14550.00") and totals.functional == "EUR"
    assert totals.rates_text == "1 GBP = 1.17 EUR (2026-12-04), 1 USD = 0.92 EUR (2026-12-01)"
    html = render(totals)
    assert html == (
        "GBP 3,000.00 · USD 12,000.00 → EUR 14,550.00 at 1 GBP = 1.17 EUR (2026-12-04), 1 USD = 0.92 EUR (2026-12-01)"
    )


def test_rates_of_one_date_are_named_once():
    rate("USD", "0.92")
    rate("GBP", "1.17")
    totals = currency_totals({"EUR": Decimal("100.00"), "USD": Decimal("12000.00"), "GBP": Decimal("3000.00")}, on=ON)
    assert totals.total == Decimal("14650.00")
    assert totals.rates_text == "1 GBP = 1.17 EUR, 1 USD = 0.92 EUR (rates of 2026-12-04)"
    assert [line.currency for line in totals.lines] == ["EUR", "GBP", "USD"]


def test_a_conversion_rounds_each_part_to_the_functional_minor_unit():
    rate("JPY", "0.0061234")
    totals = currency_totals([("JPY", Decimal("150001")), ("JPY", Decimal("2"))], on=ON)
    assert totals.lines[0].amount == Decimal("150003") and totals.total == Decimal("918.53")
    assert render(totals) == "JPY 150,003 → EUR 918.53 at 1 JPY = 0.0061234 EUR (rates of 2026-12-04)"


def test_a_single_functional_currency_is_shown_as_is_with_its_code():
    totals = currency_totals({"EUR": Decimal("1234.50")}, on=ON)
    assert totals.single and totals.total == Decimal("1234.50") and totals.rates == []
    assert render(totals) == "EUR 1,234.50"


def test_nothing_at_all_reads_zero_in_the_functional_currency():
    totals = currency_totals([], on=ON)
    assert totals.single and totals.total == Decimal("0") and totals.lines[0].currency == "EUR"


def test_a_missing_rate_shows_the_figures_and_no_converted_total_naming_the_currency_and_date():
    rate("USD", "0.92")
    totals = currency_totals({"USD": Decimal("100.00"), "GBP": Decimal("50.00"), "EUR": Decimal("1.00")}, on=ON)
    assert totals.total is None and totals.missing == ("GBP",)
    assert "for GBP on or before 2026-12-04" in totals.message
    html = render(totals, "figure")
    assert "GBP 50.00" in html and "USD 100.00" in html and "EUR 1.00" in html
    assert "for GBP on or before 2026-12-04" in html and "EUR 1.00 →" not in html and "is not shown" in html
    data = totals.as_dict()
    assert data["functional_total"] is None and data["missing_rates"] == [{"currency": "GBP", "date": "2026-12-04"}]


def test_several_columns_share_one_rate_query():
    rate("USD", "0.92")
    rate("GBP", "1.17")
    columns = {f"c{i}": {"USD": Decimal(i), "GBP": Decimal(i), "EUR": Decimal(i)} for i in range(1, 6)}
    queries, out = count_queries(lambda: currency_totals_many(columns, on=ON))
    assert queries == 1 and out["c5"].total == Decimal("15.45")
    assert out["c1"].as_dict()["currencies"][1] == {
        "currency": "GBP",
        "amount": "1.00",
        "rate": "1.17",
        "rate_date": "2026-12-04",
        "rate_label": "1 GBP = 1.17 EUR (2026-12-04)",
        "converted": "1.17",
    }
