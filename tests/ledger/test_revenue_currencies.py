"""Revenue reports and recognition runs across contract currencies: each currency's own figures, the total in
the functional currency at named rates of the report's date, and a missing rate that shows the figures and names
the currency and date."""

import re
from datetime import date, datetime

import pytest
from django.utils import timezone

from ledger.models import AccountingPeriod
from ledger.selectors.revenue import backlog, revenue_by
from ledger.services.revenue import recognition_run
from projects.models import Milestone
from psa.core.models import ExchangeRate
from tests.billing.factories import accept_milestone, make_contract, make_line
from tests.ledger.revenue_factories import D, books, period, zero_tax_account
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db
JAN = (date(2026, 1, 1), date(2026, 1, 31))
SIGNED = datetime(2026, 1, 5, 9, 0)


def _text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def _contract(currency: str, price: str, accepted: str):
    contract = make_contract(
        zero_tax_account(name=f"Client {currency}", currency=currency), signed_at=timezone.make_aware(SIGNED)
    )
    line = make_line(contract, "milestone", price=price)
    accept_milestone(line, accepted, on=date(2026, 1, 20))
    rest = D(price) - D(accepted)
    Milestone.objects.create(
        project=contract.project, contract_line=line, name="Go-live", amount=rest, due_date=date(2026, 3, 10)
    )
    return contract


@pytest.fixture
def january(make_user):
    """EUR: 1,000.00 line, 400.00 accepted; USD: 2,000.00 line, 1,000.00 accepted; 1 USD = 0.9 EUR from 1 Jan."""
    books()
    ExchangeRate.objects.create(currency="USD", quote="EUR", date=date(2026, 1, 1), rate=D("0.9"))
    _contract("EUR", "1000.00", "400.00")
    _contract("USD", "2000.00", "1000.00")
    return recognition_run(period_id=period(date(2026, 1, 1)).pk, by=make_user("finance"))


def test_revenue_by_groups_each_currency_and_converts_the_total_at_the_rate_of_the_end(january):
    report = revenue_by(start=JAN[0], end=JAN[1], by="method")
    assert [(r["key"], r["currency"], r["amount"]) for r in report.rows] == [
        ("milestone", "EUR", D("400.00")),
        ("milestone", "USD", D("1000.00")),
    ]
    assert report.total == D("1300.00")  # 400.00 + 1,000.00 x 0.9
    assert report.totals.rates_text == "1 USD = 0.9 EUR (rates of 2026-01-01)"


def test_the_revenue_page_and_csv_state_every_currency(client_as, january):
    web = client_as("finance")
    response = web.get("/ledger/revenue/reports/revenue/", {"start": "2026-01-01", "end": "2026-01-31"})
    text = _text(response)
    assert "EUR 400.00" in text and "USD 1,000.00" in text
    assert "EUR 1,300.00 at 1 USD = 0.9 EUR (rates of 2026-01-01)" in text
    csv = web.get("/ledger/revenue/reports/revenue/", {"start": "2026-01-01", "end": "2026-01-31", "format": "csv"})
    lines = csv.content.decode().splitlines()
    assert lines[0] == "method,currency,revenue"
    assert "Total,USD,1000.00" in lines and "Total in EUR,EUR,1300.00" in lines


def test_a_missing_rate_shows_the_figures_and_names_the_currency_and_date(client_as, january):
    ExchangeRate.objects.all().delete()
    response = client_as("finance").get(
        "/ledger/revenue/reports/revenue/", {"start": "2026-01-01", "end": "2026-01-31"}
    )
    assert response.status_code == 200
    assert response.context["report"].total is None
    text = _text(response)
    assert "USD 1,000.00" in text and "EUR 400.00" in text
    assert "No exchange rate into EUR for USD on or before 2026-01-31" in text


def test_backlog_is_one_row_per_month_and_currency_and_the_close_checklist_converts_it(client_as, january):
    rows = backlog(start=JAN[0], end=JAN[1])
    assert [(r["currency"], r["contracted"], r["recognised"], r["backlog"]) for r in rows] == [
        ("EUR", D("1000.00"), D("400.00"), D("600.00")),
        ("USD", D("2000.00"), D("1000.00"), D("1000.00")),
    ]
    jan = AccountingPeriod.objects.get(start=JAN[0])
    response = client_as("finance").get(f"/ledger/month-end/{jan.pk}/")
    assert response.context["figures"].backlog.total == D("1500.00")  # 600.00 + 1,000.00 x 0.9
    assert "EUR 1,500.00 at 1 USD = 0.9 EUR (rates of 2026-01-01)" in _text(response)


def test_a_recognition_run_shows_its_revenue_per_currency_and_converted(client_as, january):
    web = client_as("finance")
    listing = _text(web.get("/ledger/revenue/runs/"))
    assert "EUR 400.00" in listing and "USD 1,000.00" in listing
    detail = web.get(f"/ledger/revenue/runs/{january.pk}/")
    assert detail.context["totals"].total == D("1300.00")
    assert "EUR 1,300.00 at 1 USD = 0.9 EUR (rates of 2026-01-01)" in _text(detail)


def test_the_api_gives_per_currency_rows_and_totals(api_as, january):
    body = api_as("finance").get("/api/v1/ledger/revenue-reports/revenue/?start=2026-01-01&end=2026-01-31").json()
    assert [(r["currency"], r["amount"]) for r in body["rows"]] == [("EUR", "400.00"), ("USD", "1000.00")]
    assert body["total"] == "1300.00" and body["totals"]["functional_currency"] == "EUR"
    assert body["totals"]["currencies"][1]["rate_label"] == "1 USD = 0.9 EUR (2026-01-01)"


def test_report_pages_read_the_same_queries_with_more_contracts_in_more_currencies(client_as, january):
    ExchangeRate.objects.create(currency="GBP", quote="EUR", date=date(2026, 1, 1), rate=D("1.17"))
    web = client_as("finance")
    rng = "?start=2026-01-01&end=2026-03-31"
    urls = [f"/ledger/revenue/reports/revenue/{rng}", f"/ledger/revenue/reports/backlog/{rng}", "/ledger/revenue/runs/"]
    small = [count_queries(lambda url=url: web.get(url))[0] for url in urls]
    for code in ("EUR", "USD", "GBP", "USD"):
        contract = _contract(code, "300.00", "100.00")
        accept_milestone(make_line(contract, "milestone", price="50.00"), "50.00", on=date(2026, 2, 3))
    recognition_run(period_id=period(date(2026, 2, 1)).pk, by=web.user)
    assert [count_queries(lambda url=url: web.get(url))[0] for url in urls] == small


def test_the_revenue_forecast_keeps_each_currency_and_totals_each_month_at_todays_rate(client_as, january):
    web = client_as("finance")
    response = web.get("/ledger/revenue/reports/forecast/", {"start": "2026-01-01", "end": "2026-03-31"})
    assert response.status_code == 200
    assert [r.currency for r in response.context["reports"]] == ["EUR", "USD"]
    january_row, _february, march = response.context["rows"]
    assert [(c, a) for c, a, *_ in january_row["currencies"]] == [("EUR", D("400.00")), ("USD", D("1000.00"))]
    assert january_row["total"].total == D("1300.00")  # 400.00 + 1,000.00 x 0.9
    # March: the pending milestones, EUR 600.00 and USD 1,000.00 -> EUR 1,500.00
    assert [(c, b) for c, _a, b, *_ in march["currencies"]] == [("EUR", D("600.00")), ("USD", D("1000.00"))]
    assert march["total"].total == D("1500.00")
    text = _text(response)
    assert "USD 1,000.00" in text and "EUR 1,500.00" in text
    assert "Totals in EUR at 1 USD = 0.9 EUR (rates of 2026-01-01)" in text
    body = client_as("finance").get("/ledger/revenue/reports/forecast/?start=2026-01-01&end=2026-01-31&format=csv")
    assert "2026-01,USD,1000.00,0.00,0.00,1000.00" in body.content.decode().splitlines()


def test_the_revenue_forecast_without_a_rate_shows_figures_and_names_the_missing_rate(client_as, january):
    ExchangeRate.objects.all().delete()
    response = client_as("finance").get(
        "/ledger/revenue/reports/forecast/", {"start": "2026-01-01", "end": "2026-01-31"}
    )
    assert response.status_code == 200
    assert response.context["rows"][0]["total"].total is None
    text = _text(response)
    assert "USD 1,000.00" in text
    assert f"No exchange rate into EUR for USD on or before {timezone.localdate():%Y-%m-%d}" in text
