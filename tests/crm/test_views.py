"""Pipeline pages: who sees them, what they show, and query counts that do not grow with the data."""

import datetime as dt
from decimal import Decimal

import pytest

from crm.choices import BillingModel, OpportunityStatus
from crm.models import Opportunity
from tests.crm.factories import AccountFactory, RoleFactory, make_deal, stage
from tests.factories import UserFactory
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def _many(n: int, owner) -> None:
    role = RoleFactory(name="Analyst", code="analyst")
    for i in range(n):
        deal = make_deal(
            owner=owner, ready=False, name=f"Deal {i}", stage=stage(["Lead", "Qualified", "Proposal"][i % 3])
        )
        from crm import services

        services.opportunity_line_add(
            opportunity_id=deal.pk,
            by=owner,
            description="Work",
            billing_model=BillingModel.TIME_AND_MATERIALS,
            hours=Decimal("10"),
            rate=Decimal("100"),
            role_demands=[
                {"role": role, "hours": Decimal("10"), "start_date": dt.date.today(), "end_date": dt.date.today()}
            ],
        )


@pytest.mark.parametrize(
    "url", ["/crm/pipeline/", "/crm/opportunities/", "/crm/accounts/", "/crm/forecast/", "/crm/demand/"]
)
def test_pipeline_pages_open_for_sales_and_stay_closed_to_consultants_and_clients(client_as, client, url):
    assert client_as("sales").get(url).status_code == 200
    client.logout()
    assert client_as("consultant").get(url).status_code == 403
    client.logout()
    assert client_as("client").get(url).status_code == 403


@pytest.mark.parametrize(
    "url", ["/crm/pipeline/", "/crm/opportunities/", "/crm/accounts/", "/crm/forecast/", "/crm/demand/", "/projects/"]
)
def test_list_pages_issue_the_same_number_of_queries_at_two_sizes(client_as, url, settings):
    settings.PSA_PAGE_CACHE_SECONDS = 0  # the board's totals computed on each view (reuse: tests/web/test_pagecache.py)
    client = client_as("sales")
    _many(3, client.user)
    small, _ = count_queries(lambda: client.get(url), status=200)
    _many(30, client.user)
    large, _ = count_queries(lambda: client.get(url), status=200)
    assert large == small


def test_the_board_shows_each_open_deal_in_its_stage_column(client_as):
    client = client_as("sales")
    deal = make_deal(owner=client.user, ready=False, name="Cloud move", stage=stage("Proposal"))
    response = client.get("/crm/pipeline/")
    proposal = next(c for c in response.context["columns"] if c.stage.name == "Proposal")
    assert [c.pk for c in proposal.cards] == [deal.pk]
    assert "Cloud move" in response.content.decode()


def test_moving_a_card_over_htmx_returns_the_board_with_the_deal_moved(client_as):
    client = client_as("sales")
    deal = make_deal(owner=client.user, ready=False)
    response = client.post(
        f"/crm/opportunities/{deal.pk}/move/", {"stage": stage("Qualified").pk}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert 'id="board"' in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage.name == "Qualified" and deal.probability == 25


def test_a_sales_rep_cannot_move_someone_elses_deal(client_as):
    deal = make_deal(ready=False)
    client = client_as("sales")
    response = client.post(
        f"/crm/opportunities/{deal.pk}/move/", {"stage": stage("Qualified").pk}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 403
    assert "Only the owner" in response.content.decode()
    deal.refresh_from_db()
    assert deal.stage.name == "Lead"


def test_moving_onto_a_closing_stage_is_refused_with_409(client_as):
    client = client_as("sales")
    deal = make_deal(owner=client.user, ready=False)
    response = client.post(f"/crm/opportunities/{deal.pk}/move/", {"stage": stage("Won").pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert Opportunity.objects.get(pk=deal.pk).status == OpportunityStatus.OPEN


def test_the_list_filters_by_owner_stage_month_account_and_amount(client_as):
    client = client_as("sales")
    acme = AccountFactory(name="Acme")
    hit = make_deal(owner=client.user, account=acme, name="Hit", expected_close_date=dt.date(2027, 2, 10))
    make_deal(owner=client.user, name="Other month", expected_close_date=dt.date(2027, 3, 10))
    make_deal(owner=client.user, account=acme, ready=False, name="Too small", expected_close_date=dt.date(2027, 2, 1))
    response = client.get(
        "/crm/opportunities/",
        {"owner": client.user.pk, "stage": stage("Lead").pk, "close_month": "2027-02", "account": "acm",
         "amount_min": "1000", "amount_max": "50000"},
    )  # fmt: skip
    assert [o.pk for o in response.context["page_obj"]] == [hit.pk]


def test_creating_an_opportunity_with_a_probability_over_100_shows_the_error_inline(client_as):
    client = client_as("sales")
    account = AccountFactory()
    response = client.post(
        "/crm/opportunities/new/",
        {"name": "X", "account": account.pk, "probability": "120", "expected_close_date": "2027-01-31"},
    )
    assert response.status_code == 200
    assert "between 0 and 100" in response.content.decode()
    assert Opportunity.objects.count() == 0


def test_creating_an_opportunity_in_another_currency_than_the_account_is_refused(client_as):
    client = client_as("sales")
    account = AccountFactory(currency="EUR")
    response = client.post(
        "/crm/opportunities/new/",
        {"name": "X", "account": account.pk, "currency": "USD", "expected_close_date": "2027-01-31"},
    )
    assert "invoices in EUR" in response.content.decode()
    assert Opportunity.objects.count() == 0


def test_an_end_before_the_start_is_refused_inline(client_as):
    client = client_as("sales")
    account = AccountFactory()
    response = client.post(
        "/crm/opportunities/new/",
        {"name": "X", "account": account.pk, "expected_close_date": "2027-01-31",
         "service_start": "2027-03-01", "service_end": "2027-02-01"},
    )  # fmt: skip
    assert "must not be before" in response.content.decode()
    assert Opportunity.objects.count() == 0


def test_the_opportunity_page_shows_lines_demand_history_and_the_win_checklist(client_as):
    client = client_as("sales")
    deal = make_deal(owner=client.user, ready=False)
    response = client.get(f"/crm/opportunities/{deal.pk}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Before this deal can be won" in html and "service start date is required" in html


def test_the_account_page_shows_contacts_opportunities_and_loads_projects(client_as):
    client = client_as("sales")
    deal = make_deal(owner=client.user, ready=False, name="Visible deal")
    response = client.get(f"/crm/accounts/{deal.account_id}/")
    html = response.content.decode()
    assert "Visible deal" in html
    assert f"/projects/accounts/{deal.account_id}/" in html
    assert 'data-testid="ar-slot"' in html


def test_losing_without_a_reason_is_refused_and_with_one_closes_the_deal(client_as):
    client = client_as("sales")
    deal = make_deal(owner=client.user, ready=False)
    client.post(f"/crm/opportunities/{deal.pk}/lose/", {"reason": ""})
    assert Opportunity.objects.get(pk=deal.pk).status == OpportunityStatus.OPEN
    client.post(f"/crm/opportunities/{deal.pk}/lose/", {"reason": "Went with a competitor"})
    deal.refresh_from_db()
    assert deal.status == OpportunityStatus.LOST and deal.lost_reason == "Went with a competitor"


def test_finance_sees_the_pipeline_but_cannot_create_deals(client_as):
    client = client_as("finance")
    assert client.get("/crm/pipeline/").status_code == 200
    assert client.get("/crm/opportunities/new/").status_code == 403


def test_other_reps_cannot_edit_a_deal(client_as):
    deal = make_deal(owner=UserFactory(roles=["sales"]), ready=False)
    client = client_as("sales")
    response = client.get(f"/crm/opportunities/{deal.pk}/edit/")
    assert response.status_code == 302


def test_the_owner_edits_a_deal_and_an_empty_probability_takes_the_stage_default(client_as):
    client = client_as("sales")
    deal = make_deal(owner=client.user, ready=False, probability=40)
    response = client.post(
        f"/crm/opportunities/{deal.pk}/edit/",
        {"name": "Renamed", "account": deal.account_id, "expected_close_date": "2027-03-31", "probability": "",
         "service_start": "2027-04-01", "service_end": "2027-06-30", "service_type": "advisory"},
    )  # fmt: skip
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.name, deal.probability, deal.service_type) == ("Renamed", 10, "advisory")


def test_adding_a_line_with_a_bad_value_shows_the_error_on_the_page(client_as):
    client = client_as("sales")
    deal = make_deal(owner=client.user, ready=False)
    response = client.post(
        f"/crm/opportunities/{deal.pk}/lines/",
        {"line-description": "Fixed", "line-billing_model": "fixed_fee", "line-price": "10", "line-cap": "5"},
    )
    assert response.status_code == 400
    assert "time-and-materials lines only" in response.content.decode()
