"""Project pages: list and page after a win, status and milestone moves, change orders, and query counts."""

from decimal import Decimal

import pytest

from projects.models import Milestone, Project
from projects.services import opportunity_win, rate_card_create, rate_card_line_create
from tests.crm.factories import RoleFactory, make_deal
from tests.projects.factories import make_template
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def _won(n: int) -> list[Project]:
    make_template()
    projects = []
    for _ in range(n):
        deal = make_deal()
        projects.append(opportunity_win(opportunity_id=deal.pk, by=deal.owner).project)
    return projects


def test_the_project_list_issues_the_same_queries_at_two_sizes(client_as):
    client = client_as("project_manager")
    _won(2)
    small, _ = count_queries(lambda: client.get("/projects/"))
    _won(12)
    large, _ = count_queries(lambda: client.get("/projects/"))
    assert large == small


def test_the_project_page_issues_the_same_queries_with_more_milestones(client_as):
    client = client_as("project_manager")
    (project,) = _won(1)
    url = f"/projects/{project.pk}/"
    small, _ = count_queries(lambda: client.get(url))
    for i in range(10):
        Milestone.objects.create(project=project, name=f"M{i}", due_date=project.start_date)
    large, _ = count_queries(lambda: client.get(url))
    assert large == small


def test_the_rate_card_endpoint_issues_the_same_queries_at_two_sizes(api_as):
    api = api_as("finance")

    def cards(n, offset):
        for i in range(n):
            card = rate_card_create(by=api.user, name=f"Card {offset + i}", currency="EUR")
            rate_card_line_create(
                by=api.user, rate_card_id=card.pk, role=RoleFactory(), rate="100", valid_from=project_day()
            )

    cards(2, 0)
    small, _ = count_queries(lambda: api.get("/api/v1/rate-cards/"))
    cards(10, 100)
    large, _ = count_queries(lambda: api.get("/api/v1/rate-cards/"))
    assert large == small


def project_day():
    import datetime as dt

    return dt.date(2027, 1, 1)


def test_consultants_and_clients_cannot_open_projects(client_as, client):
    (project,) = _won(1)
    for role in ("consultant", "client"):
        assert client_as(role).get(f"/projects/{project.pk}/").status_code == 403
        client.logout()


def test_a_pm_starts_the_project_and_records_a_milestone(client_as):
    client = client_as("project_manager")
    (project,) = _won(1)
    client.post(f"/projects/{project.pk}/status/", {"status": "active"})
    project.refresh_from_db()
    assert project.status == "active" and project.history.count() == 2
    milestone = project.milestones.first()
    client.post(f"/projects/{project.pk}/milestones/{milestone.pk}/accept/")  # not achieved yet: refused
    milestone.refresh_from_db()
    assert milestone.status == "planned"
    client.post(f"/projects/{project.pk}/milestones/{milestone.pk}/achieve/")
    client.post(f"/projects/{project.pk}/milestones/{milestone.pk}/accept/")
    milestone.refresh_from_db()
    assert milestone.status == "accepted" and milestone.history.count() == 2


def test_sales_cannot_change_project_status(client_as):
    (project,) = _won(1)
    response = client_as("sales").post(f"/projects/{project.pk}/status/", {"status": "active"})
    assert response.status_code == 403


def test_a_completed_project_cannot_restart(client_as):
    client = client_as("project_manager")
    (project,) = _won(1)
    for status in ("active", "completed", "active"):
        client.post(f"/projects/{project.pk}/status/", {"status": status})
    project.refresh_from_db()
    assert project.status == "completed"


def test_change_orders_from_the_project_page(client_as, client):
    pm = client_as("project_manager")
    (project,) = _won(1)
    line = project.contracts.get().lines.get(billing_model="fixed_fee")
    pm.post(
        f"/projects/{project.pk}/change-orders/",
        {"co-title": "More discovery", "co-action": "amend", "co-contract_line": line.pk, "co-value_delta": "1000",
         "co-hours_delta": "8"},
    )  # fmt: skip
    co = project.contracts.get().change_orders.get()
    pm.post(f"/projects/{project.pk}/change-orders/{co.pk}/submit/")
    client.logout()
    finance = client_as("finance")
    finance.post(f"/projects/{project.pk}/change-orders/{co.pk}/approve/")
    project.refresh_from_db()
    assert project.budget_amount == Decimal("21000.00") and project.budget_hours == Decimal("108.00")


def test_winning_from_the_opportunity_page_opens_the_project(client_as):
    make_template()
    client = client_as("sales")
    deal = make_deal(owner=client.user)
    response = client.post(f"/crm/opportunities/{deal.pk}/win/")
    project = Project.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/projects/{project.pk}/"
    again = client.post(f"/crm/opportunities/{deal.pk}/win/")
    assert again["Location"] == f"/projects/{project.pk}/" and Project.objects.count() == 1


def test_a_win_with_missing_fields_from_the_page_lists_them(client_as):
    make_template()
    client = client_as("sales")
    deal = make_deal(owner=client.user, ready=False)
    response = client.post(f"/crm/opportunities/{deal.pk}/win/", follow=True)
    html = response.content.decode()
    assert "service start date is required" in html and "service type is required" in html
    assert Project.objects.count() == 0


def test_the_account_fragment_lists_the_accounts_projects(client_as):
    (project,) = _won(1)
    response = client_as("sales").get(f"/projects/accounts/{project.account_id}/")
    assert project.code in response.content.decode()
