"""projects API: the win action, projects, contracts, change orders and rate cards."""

import datetime as dt
from decimal import Decimal

import pytest

from crm.models import DeliveryRole
from projects.models import ChangeOrder, Contract, Project, RateCard
from projects.services import opportunity_win
from tests.crm.factories import RoleFactory, make_deal
from tests.factories import UserFactory
from tests.projects.factories import make_template
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def test_win_via_the_api_is_201_then_200_with_the_same_contract(api_as):
    make_template()
    api = api_as("sales")
    deal = make_deal(owner=api.user)
    first = api.post(f"/api/v1/opportunities/{deal.pk}/win/")
    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["created"] is True and len(body["contract"]["lines"]) == 2
    assert [t["name"] for t in body["project"]["tasks"]] == ["Analysis", "Build", "Go-live"]
    assert body["project"]["resource_requests"][0]["hours"] == "100.00"
    second = api.post(f"/api/v1/opportunities/{deal.pk}/win/")
    assert second.status_code == 200 and second.json()["contract"]["id"] == body["contract"]["id"]
    assert Contract.objects.count() == Project.objects.count() == 1


def test_win_with_missing_fields_is_400_listing_them(api_as):
    make_template()
    api = api_as("sales")
    deal = make_deal(owner=api.user, ready=False)
    response = api.post(f"/api/v1/opportunities/{deal.pk}/win/")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "missing_fields"
    assert {"service_start", "service_end", "service_type", "lines"} <= set(body["fields"])
    assert Project.objects.count() == 0


def test_winning_someone_elses_deal_via_the_api_is_403(api_as):
    make_template()
    deal = make_deal()
    assert api_as("sales").post(f"/api/v1/opportunities/{deal.pk}/win/").status_code == 403


def test_project_endpoints_scale_with_constant_queries(api_as):
    from projects.services import change_order_create

    make_template()
    api = api_as("admin")
    urls = ["/api/v1/projects/", "/api/v1/contracts/", "/api/v1/change-orders/"]

    def won(n):
        for _ in range(n):
            deal = make_deal()
            result = opportunity_win(opportunity_id=deal.pk, by=deal.owner)
            change_order_create(
                contract_id=result.contract.pk,
                by=api.user,
                title="More",
                lines=[{"action": "add", "description": "Extra", "billing_model": "fixed_fee", "value_delta": "10"}],
            )

    won(2)
    small = {url: count_queries(lambda url=url: api.get(url))[0] for url in urls}
    won(8)
    assert {url: count_queries(lambda url=url: api.get(url))[0] for url in urls} == small


def test_consultants_and_clients_cannot_read_projects_or_rate_cards(api_as, api_client):
    for role in ("consultant", "client"):
        api = api_as(role)
        assert api.get("/api/v1/projects/").status_code == 403
        assert api.get("/api/v1/rate-cards/").status_code == 403
        api_client.force_authenticate(None)


def test_sales_cannot_see_rate_cards(api_as):
    assert api_as("sales").get("/api/v1/rate-cards/").status_code == 403


def test_an_overlapping_rate_card_line_is_refused_with_400(api_as):
    api = api_as("finance")
    role = RoleFactory()
    card = api.post("/api/v1/rate-cards/", {"name": "Std", "currency": "EUR", "is_default": True}).json()
    ok = api.post(
        f"/api/v1/rate-cards/{card['id']}/lines/",
        {"role": role.pk, "rate": "100", "valid_from": "2027-01-01", "valid_to": "2027-12-31"},
    )
    assert ok.status_code == 201
    clash = api.post(
        f"/api/v1/rate-cards/{card['id']}/lines/", {"role": role.pk, "rate": "110", "valid_from": "2027-06-01"}
    )
    assert clash.status_code == 400 and "valid_from" in clash.json()["fields"]
    assert "overlaps" in clash.json()["fields"]["valid_from"][0].lower()
    after = api.post(
        f"/api/v1/rate-cards/{card['id']}/lines/", {"role": role.pk, "rate": "110", "valid_from": "2028-01-01"}
    )
    assert after.status_code == 201
    assert len(after.json()["lines"]) == 2


def test_change_order_lifecycle_moves_budget_and_milestones(api_as, api_client):
    make_template()
    deal = make_deal()
    result = opportunity_win(opportunity_id=deal.pk, by=deal.owner)
    fixed = result.contract.lines.get(billing_model="fixed_fee")
    pm = UserFactory(roles=["project_manager"])
    api_client.force_authenticate(pm)
    response = api_client.post(
        "/api/v1/change-orders/",
        {
            "contract": result.contract.pk,
            "title": "Extra phase",
            "lines": [
                {"action": "amend", "contract_line": fixed.pk, "value_delta": "2000.00", "hours_delta": "10",
                 "new_end_date": "2027-04-30", "milestone_name": "Extra phase done", "milestone_amount": "2000.00",
                 "milestone_due_date": "2027-04-30"},
                {"action": "add", "description": "Training", "billing_model": "fixed_fee", "value_delta": "1500.00"},
            ],
        },
        format="json",
    )  # fmt: skip
    assert response.status_code == 201, response.json()
    co_id = response.json()["id"]
    assert api_client.post(f"/api/v1/change-orders/{co_id}/approve/").status_code == 403  # PMs do not decide
    assert api_client.post(f"/api/v1/change-orders/{co_id}/submit/").status_code == 200
    api_client.force_authenticate(UserFactory(roles=["finance"]))
    approved = api_client.post(f"/api/v1/change-orders/{co_id}/approve/")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    project = Project.objects.get(pk=result.project.pk)
    assert project.budget_amount == Decimal("23500.00")
    assert project.budget_hours == Decimal("110.00")
    assert project.end_date == dt.date(2027, 4, 30)
    fixed.refresh_from_db()
    assert fixed.price == Decimal("7000.00")
    assert project.milestones.filter(name="Extra phase done", amount=Decimal("2000.00")).exists()
    assert result.contract.lines.count() == 3
    again = api_client.post(f"/api/v1/change-orders/{co_id}/approve/")
    assert again.status_code == 409
    assert ChangeOrder.objects.get(pk=co_id).history.count() == 3


def test_the_requester_cannot_approve_its_own_change_order(api_as):
    make_template()
    deal = make_deal()
    result = opportunity_win(opportunity_id=deal.pk, by=deal.owner)
    api = api_as("admin")
    co = api.post(
        "/api/v1/change-orders/",
        {"contract": result.contract.pk, "title": "X",
         "lines": [{"action": "add", "description": "Y", "billing_model": "fixed_fee", "value_delta": "1"}]},
        format="json",
    ).json()  # fmt: skip
    api.post(f"/api/v1/change-orders/{co['id']}/submit/")
    assert api.post(f"/api/v1/change-orders/{co['id']}/approve/").status_code == 403


def test_a_change_order_needs_valid_lines(api_as):
    make_template()
    deal = make_deal()
    result = opportunity_win(opportunity_id=deal.pk, by=deal.owner)
    response = api_as("project_manager").post(
        "/api/v1/change-orders/",
        {"contract": result.contract.pk, "title": "X", "lines": [{"action": "add", "value_delta": "5"}]},
        format="json",
    )
    assert response.status_code == 400
    assert {"lines[1].description", "lines[1].billing_model"} <= set(response.json()["fields"])


def test_rate_card_roles_are_the_crm_catalogue():
    assert DeliveryRole is RateCard._meta.get_field("lines").related_model._meta.get_field("role").related_model
