"""The cash pages and endpoints: who may see them, their query counts at two sizes, filters, the scenario form,
saving a snapshot and its accuracy page."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import CashForecastSnapshot
from billing.services import payment_record
from billing.services.cash import cash_forecast_snapshot_save
from tests.billing.factories import issued_invoice, make_account
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db
D = Decimal


def _invoices(by, n: int, account=None):
    account = account or make_account()
    return [issued_invoice(by, "1000.00", account=account, on=date(2026, 2, 1)) for _ in range(n)]


@pytest.mark.parametrize("name", ["billing:collections", "billing:cash-forecast", "billing:cash-snapshots"])
def test_the_cash_pages_refuse_anyone_but_finance(client, client_as, name):
    url = reverse(name)
    assert client.get(url).status_code == 302  # anonymous: to the login
    assert client_as("consultant").get(url).status_code == 403
    assert client_as("sales").get(url).status_code == 403


@pytest.mark.parametrize("name", ["api-billing-collections-list", "api-billing-cash-forecast-list"])
def test_the_cash_endpoints_refuse_anyone_but_finance(api_client, api_as, name):
    url = reverse(name)
    assert api_client.get(url).status_code in (401, 403)
    response = api_as("project_manager").get(url)
    assert response.status_code == 403 and response["Content-Type"].startswith("application/json")


def test_the_collections_page_query_count_does_not_grow_and_it_filters(client_as, periods):
    client = client_as("finance")
    url = reverse("billing:collections")
    _invoices(client.user, 1)
    client.get(url)
    small, _ = count_queries(lambda: client.get(url), status=200)
    other = make_account(name="Other Ltd")
    _invoices(client.user, 6, account=other)
    client.get(url)  # the history changed: the model refits once, then the page is served from the cache
    large, response = count_queries(lambda: client.get(url), status=200)
    assert large == small
    assert response.content.count(b"data-collection=") == 7
    filtered = client.get(url, {"account": other.pk})
    assert filtered.content.count(b"data-collection=") == 6
    assert client.get(url, {"currency": "USD"}).content.count(b"data-collection=") == 0
    assert client.get(url, {"min_risk": "101"}).status_code == 200


def test_the_collections_page_paginates(client_as, periods):
    client = client_as("finance")
    _invoices(client.user, 27)
    response = client.get(reverse("billing:collections"))
    assert response.content.count(b"data-collection=") == 25
    assert client.get(reverse("billing:collections"), {"page": 2}).content.count(b"data-collection=") == 2


def test_the_collections_endpoint_query_count_does_not_grow(api_as, periods):
    api = api_as("finance")
    url = reverse("api-billing-collections-list")
    _invoices(api.user, 1)
    api.get(url)
    small, _ = count_queries(lambda: api.get(url), status=200)
    _invoices(api.user, 5)
    api.get(url)
    large, response = count_queries(lambda: api.get(url), status=200)
    assert large == small
    body = response.json()
    assert body["count"] == 6 and body["annual_cost_of_capital"] == "0.08"
    assert {"expected_date", "p_over_30", "expected_loss"} <= set(body["results"][0])
    assert api.get(url, {"as_of": "nonsense"}).status_code == 400


def test_the_page_shows_the_back_test_once_there_is_history(client_as, periods):
    client = client_as("finance")
    account = make_account()
    for month in range(1, 11):
        invoice = issued_invoice(client.user, "1000.00", account=account, on=date(2025, month, 1))
        payment_record(
            by=client.user, account_id=account.pk, amount=invoice.balance,
            received_on=invoice.due_date + timedelta(days=12),
            allocations=[{"invoice_id": invoice.pk, "amount": invoice.balance}],
        )  # fmt: skip
    response = client.get(reverse("billing:collections"))
    backtest = response.context["backtest"]
    assert backtest.tested_on == 3 and backtest.mae_naive == 12.0
    assert backtest.mae_model < backtest.mae_naive
    assert b"mean absolute error of the model" in response.content


def test_the_forecast_page_applies_a_scenario_and_names_bad_values(client_as, periods):
    client = client_as("finance")
    _invoices(client.user, 1)
    response = client.get(reverse("billing:cash-forecast"), {"by": "week"})
    assert response.status_code == 200 and b'data-testid="forecast-table"' in response.content
    response = client.get(reverse("billing:cash-forecast"), {"out": "999999"}, follow=True)
    assert response.status_code == 200
    assert "No open deal 999999 to leave out." in [str(m) for m in response.context["messages"]]


def test_saving_a_snapshot_and_reading_it_back(client_as, periods):
    client = client_as("finance")
    _invoices(client.user, 2)
    response = client.post(reverse("billing:cash-snapshot-save"), {"as_of": "2026-02-02", "note": "Q1", "query": ""})
    snapshot = CashForecastSnapshot.objects.get()
    assert response.status_code == 302 and response.url == reverse("billing:cash-snapshot", args=[snapshot.pk])
    page = client.get(reverse("billing:cash-snapshot", args=[snapshot.pk]))
    assert page.status_code == 200 and b'data-testid="accuracy-table"' in page.content
    assert client.get(reverse("billing:cash-snapshot", args=[snapshot.pk]), {"by": "week"}).status_code == 200


def test_the_snapshot_list_query_count_does_not_grow(client_as, periods):
    client = client_as("finance")
    url = reverse("billing:cash-snapshots")
    cash_forecast_snapshot_save(as_of=date(2026, 2, 2), by=client.user)
    client.get(url)
    small, _ = count_queries(lambda: client.get(url), status=200)
    for day in range(3, 7):
        cash_forecast_snapshot_save(as_of=date(2026, 2, day), by=client.user)
    large, response = count_queries(lambda: client.get(url), status=200)
    assert large == small and response.content.count(b"data-snapshot=") == 5


def test_a_snapshot_is_finances_only(client_as, periods, finance):
    snapshot = cash_forecast_snapshot_save(as_of=date(2026, 2, 2), by=finance)
    assert client_as("sales").get(reverse("billing:cash-snapshot", args=[snapshot.pk])).status_code == 403
    assert client_as("sales").post(reverse("billing:cash-snapshot-save"), {"query": ""}).status_code == 403
