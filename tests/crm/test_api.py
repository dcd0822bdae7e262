"""crm API: role scoping, refusals with the one error format, and query counts at two sizes."""

import datetime as dt
from decimal import Decimal

import pytest

from crm.models import Opportunity
from tests.crm.factories import AccountFactory, make_deal, stage
from tests.factories import UserFactory
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def _deal_payload(account, **extra):
    return {"name": "API deal", "account": account.pk, "expected_close_date": "2027-02-01", **extra}


@pytest.mark.parametrize("url", ["/api/v1/opportunities/", "/api/v1/accounts/", "/api/v1/contacts/", "/api/v1/stages/"])
def test_consultants_and_clients_cannot_read_the_pipeline(api_as, api_client, url):
    assert api_as("consultant").get(url).status_code == 403
    api_client.force_authenticate(None)
    assert api_as("client").get(url).status_code == 403
    api_client.force_authenticate(None)
    assert api_as("sales").get(url).status_code == 200


@pytest.mark.parametrize("url", ["/api/v1/opportunities/", "/api/v1/accounts/", "/api/v1/contacts/"])
def test_list_endpoints_issue_the_same_number_of_queries_at_two_sizes(api_as, url):
    api = api_as("sales")
    for _ in range(2):
        make_deal(owner=api.user)
    small, _ = count_queries(lambda: api.get(url))
    for _ in range(20):
        make_deal(owner=api.user)
    large, _ = count_queries(lambda: api.get(url))
    assert large == small


def test_a_rep_opens_a_deal_with_lines_and_role_demand(api_as):
    api = api_as("sales")
    account = AccountFactory()
    from tests.crm.factories import RoleFactory

    role = RoleFactory()
    payload = _deal_payload(
        account,
        lines=[
            {"description": "T&M", "billing_model": "tm", "hours": "10", "rate": "100",
             "role_demands": [{"role": role.pk, "hours": "10", "start_date": "2027-02-01", "end_date": "2027-02-28"}]},
            {"description": "Fixed", "billing_model": "fixed_fee", "price": "500.00"},
        ],
    )  # fmt: skip
    response = api.post("/api/v1/opportunities/", payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["amount"] == "1500.00" and body["probability"] == 10 and body["currency"] == account.currency
    assert body["lines"][0]["role_demands"][0]["hours"] == "10.00"
    assert body["history"][0]["to_status"] == "open"


@pytest.mark.parametrize(
    "extra,field",
    [
        ({"probability": 101}, "probability"),
        ({"probability": -1}, "probability"),
        ({"service_start": "2027-03-01", "service_end": "2027-02-01"}, "service_end"),
        ({"currency": "USD"}, "currency"),
    ],
)
def test_bad_deal_input_is_refused_with_400_naming_the_field(api_as, extra, field):
    api = api_as("sales")
    response = api.post("/api/v1/opportunities/", _deal_payload(AccountFactory(currency="EUR"), **extra), format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_failed" and field in body["fields"]
    assert Opportunity.objects.count() == 0


def test_moving_someone_elses_deal_is_403_and_a_manager_may(api_as, api_client):
    deal = make_deal(ready=False)
    api = api_as("sales")
    response = api.post(f"/api/v1/opportunities/{deal.pk}/move/", {"stage": stage("Proposal").pk}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    api_client.force_authenticate(UserFactory(roles=["admin"]))
    response = api_client.post(f"/api/v1/opportunities/{deal.pk}/move/", {"stage": stage("Proposal").pk})
    assert response.status_code == 200 and response.json()["stage_name"] == "Proposal"
    assert response.json()["probability"] == 50


def test_moving_a_lost_deal_is_409(api_as):
    api = api_as("sales")
    deal = make_deal(owner=api.user, ready=False)
    assert api.post(f"/api/v1/opportunities/{deal.pk}/lose/", {"reason": "Price"}).status_code == 200
    response = api.post(f"/api/v1/opportunities/{deal.pk}/move/", {"stage": stage("Proposal").pk})
    assert response.status_code == 409


def test_losing_without_a_reason_is_400(api_as):
    api = api_as("sales")
    deal = make_deal(owner=api.user, ready=False)
    response = api.post(f"/api/v1/opportunities/{deal.pk}/lose/", {"reason": ""})
    assert response.status_code == 400 and "lost_reason" in response.json()["fields"]


def test_finance_may_read_but_not_create_deals(api_as):
    api = api_as("finance")
    assert api.get("/api/v1/opportunities/").status_code == 200
    response = api.post("/api/v1/opportunities/", _deal_payload(AccountFactory()), format="json")
    assert response.status_code == 403


def test_opportunities_filter_by_close_month_and_amount(api_as):
    api = api_as("sales")
    hit = make_deal(owner=api.user, expected_close_date=dt.date(2027, 5, 3))
    make_deal(owner=api.user, expected_close_date=dt.date(2027, 6, 3))
    response = api.get("/api/v1/opportunities/", {"close_month": "2027-05", "amount_min": "1000"})
    assert [o["id"] for o in response.json()["results"]] == [hit.pk]


def test_the_same_idempotency_key_replays_the_first_create(api_as):
    api = api_as("sales")
    payload = _deal_payload(AccountFactory())
    first = api.post("/api/v1/opportunities/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = api.post("/api/v1/opportunities/", payload, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert Opportunity.objects.count() == 1


def test_accounts_are_created_and_edited_through_the_api(api_as):
    api = api_as("finance")
    response = api.post("/api/v1/accounts/", {"name": "Beta", "currency": "GBP", "payment_terms_days": 14})
    assert response.status_code == 201
    account_id = response.json()["id"]
    response = api.patch(f"/api/v1/accounts/{account_id}/", {"billing_email": "ap@beta.example"})
    assert response.status_code == 200 and response.json()["billing_email"] == "ap@beta.example"
    bad = api.patch(f"/api/v1/accounts/{account_id}/", {"payment_terms_days": 900})
    assert bad.status_code == 400


def test_the_schema_documents_the_pipeline_actions(api_as):
    response = api_as("admin").get("/api/schema/", HTTP_ACCEPT="application/json")
    text = response.content.decode()
    for path in ("/api/v1/opportunities/{id}/win/", "/api/v1/opportunities/{id}/move/", "/api/v1/change-orders/",
                 "/api/v1/rate-cards/{id}/lines/", "/api/v1/accounts/", "/api/v1/crm-imports/"):  # fmt: skip
        assert path in text, path


def test_amounts_are_strings_not_floats(api_as):
    api = api_as("sales")
    make_deal(owner=api.user)
    row = api.get("/api/v1/opportunities/").json()["results"][0]
    assert row["amount"] == "20000.00" and Decimal(row["weighted_amount"]) == Decimal("2000.00")
