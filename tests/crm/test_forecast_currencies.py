"""The forecast across currencies: each currency's own figures by month, owner and stage, and the total in the
functional currency at today's named rates; a missing rate shows the figures and says which rate is missing."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from crm import services
from crm.choices import BillingModel
from psa.core.models import ExchangeRate
from tests.crm.factories import AccountFactory, make_deal, stage
from tests.factories import UserFactory
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db
JAN = dt.date(2027, 1, 5)


def _deal(owner, account, amount: str, close: dt.date, stage_name: str):
    deal = make_deal(owner=owner, account=account, ready=False, expected_close_date=close, stage=stage(stage_name))
    services.opportunity_line_add(
        opportunity_id=deal.pk, by=owner, description="Fee", billing_model=BillingModel.FIXED_FEE, price=Decimal(amount)
    )
    return deal


def _text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


@pytest.fixture
def two_currencies():
    ann = UserFactory(roles=["sales"], username="ann")
    # EUR 10,000.00 at 10 % (Lead) -> 1,000.00; USD 50,000.00 at 75 % (Negotiation) -> 37,500.00
    _deal(ann, AccountFactory(), "10000.00", JAN, "Lead")
    _deal(ann, AccountFactory(currency="USD"), "50000.00", JAN, "Negotiation")
    return ann


def test_the_forecast_shows_each_currency_and_the_total_at_todays_named_rate(client_as, two_currencies):
    rate_day = timezone.localdate() - dt.timedelta(days=1)
    ExchangeRate.objects.create(currency="USD", quote="EUR", date=rate_day, rate=Decimal("0.92345"))
    response = client_as("sales").get("/crm/forecast/")
    assert response.status_code == 200
    report = response.context["report"]
    (january,) = report.months
    assert [(line.currency, line.amount) for line in january.weighted.lines] == [
        ("EUR", Decimal("1000.00")),
        ("USD", Decimal("37500.00")),
    ]
    # 37,500.00 x 0.92345 = 34,629.375 -> 34,629.38; 50,000.00 x 0.92345 = 46,172.50
    assert report.weighted.total == Decimal("35629.38")
    assert report.pipeline.total == Decimal("56172.50")
    assert [(s.label, s.weighted.total) for s in report.stages] == [
        ("Lead", Decimal("1000.00")),
        ("Negotiation", Decimal("34629.38")),
    ]
    assert [(o.key, o.deals, o.weighted.total) for o in report.owners] == [(two_currencies.pk, 2, Decimal("35629.38"))]
    text = _text(response)
    assert "EUR 35,629.38" in text and "USD 37,500.00" in text and "EUR 1,000.00" in text
    assert f"1 USD = 0.92345 EUR (rates of {rate_day:%Y-%m-%d})" in text
    assert response.context["chart"]["data"]["datasets"][0]["data"] == ["35629.38"]


def test_a_missing_rate_shows_the_figures_and_names_the_currency_and_date(client_as, two_currencies):
    response = client_as("sales").get("/crm/forecast/")
    assert response.status_code == 200
    report = response.context["report"]
    assert report.weighted.total is None and report.weighted.missing == ("USD",)
    text = _text(response)
    assert "USD 37,500.00" in text and "EUR 1,000.00" in text
    assert f"No exchange rate into EUR for USD on or before {timezone.localdate():%Y-%m-%d}" in text
    # the chart keeps one series per currency, never their sum
    assert [d["label"] for d in response.context["chart"]["data"]["datasets"]] == ["Weighted (EUR)", "Weighted (USD)"]


def test_one_currency_picked_shows_its_own_figures_unconverted(client_as, two_currencies):
    response = client_as("sales").get("/crm/forecast/", {"currency": "USD"})
    assert response.context["total_weighted"] == Decimal("37500.00")
    assert "USD 37,500.00" in _text(response)


def test_the_all_currency_forecast_reads_the_same_queries_at_two_sizes(client_as):
    ExchangeRate.objects.create(currency="USD", quote="EUR", date=dt.date(2026, 1, 1), rate=Decimal("0.9"))
    ExchangeRate.objects.create(currency="GBP", quote="EUR", date=dt.date(2026, 1, 1), rate=Decimal("1.17"))
    client = client_as("sales")
    owner = UserFactory(roles=["sales"])

    def add(n: int) -> None:
        for i in range(n):
            for code in ("EUR", "USD", "GBP"):
                month = dt.date(2027, 1 + i % 6, 10)
                _deal(owner, AccountFactory(currency=code), "1000.00", month, ("Lead", "Proposal")[i % 2])

    add(1)
    small, _ = count_queries(lambda: client.get("/crm/forecast/"))
    add(6)
    large, response = count_queries(lambda: client.get("/crm/forecast/"))
    assert large == small
    assert len(response.context["report"].months) == 6
