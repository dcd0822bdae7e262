"""The demo's exchange rates: a year of business-day rates around realistic levels, the same for the same date,
seeded once, into whatever the functional currency is."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import override_settings

from psa.core import demo
from psa.core.fx import rate_for
from psa.core.models import ExchangeRate, RateSource

pytestmark = pytest.mark.django_db

TODAY = date(2026, 12, 4)  # a Friday


def test_the_demo_seeds_a_year_of_business_day_rates_around_market_levels():
    demo.seed(TODAY)

    business_days = sum(1 for n in range(demo.DAYS) if (TODAY - timedelta(days=n)).weekday() < 5)
    assert ExchangeRate.objects.filter(source=RateSource.DEMO).count() == 4 * business_days
    assert not ExchangeRate.objects.filter(date=date(2026, 11, 29)).exists()  # a Sunday
    for currency, low, high in [("USD", "0.88", "0.96"), ("GBP", "1.12", "1.22"), ("CHF", "1.00", "1.10"),
                                ("JPY", "0.0058", "0.0064")]:  # fmt: skip
        rates = ExchangeRate.objects.filter(currency=currency).values_list("rate", flat=True)
        assert Decimal(low) < min(rates) and max(rates) < Decimal(high), currency
        assert len(set(rates)) > 100  # it moves
    assert rate_for(currency="USD", on=TODAY - timedelta(days=200)).quote == "EUR"


def test_the_demo_rates_depend_on_the_date_alone_and_a_second_seed_adds_nothing():
    demo.seed(TODAY)
    first = dict(ExchangeRate.objects.values_list("pk", "rate"))

    report = demo.seed(TODAY)

    assert "0 demo rates added" in report[0]
    assert dict(ExchangeRate.objects.values_list("pk", "rate")) == first
    assert demo.demo_rate("USD", "EUR", TODAY) == demo.demo_rate("USD", "EUR", TODAY)
    assert demo.demo_rate("USD", "EUR", TODAY) != demo.demo_rate("USD", "EUR", TODAY - timedelta(days=30))


@override_settings(PSA_FUNCTIONAL_CURRENCY="USD")
def test_books_in_usd_get_demo_rates_for_eur_and_the_others_into_usd():
    demo.seed(TODAY)

    assert set(ExchangeRate.objects.values_list("currency", flat=True)) == {"EUR", "GBP", "CHF", "JPY"}
    eur = rate_for(currency="EUR", on=TODAY).rate
    assert Decimal("1.04") < eur < Decimal("1.14")  # 1 / ~0.92
