"""Home panels: the rep's pipeline and the PM's projects, with constant queries."""

import pytest

from projects.services import opportunity_win
from tests.crm.factories import make_deal
from tests.projects.factories import make_template
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def _panel(response, title):
    return next(p for p in response.context["panels"] if p.title == title)


def test_a_rep_sees_its_own_pipeline_on_the_home_page(client_as):
    client = client_as("sales")
    make_deal(owner=client.user)
    make_deal()  # someone else's
    figures = {f.label: f for f in _panel(client.get("/"), "My pipeline").figures}
    assert figures["Open deals"].value == 1
    assert figures["Weighted EUR"].value == "2,000.00" and figures["Weighted EUR"].hint == "of 20,000.00 open"


@pytest.mark.parametrize("role", ["sales", "project_manager", "finance", "admin"])
def test_home_queries_do_not_grow_with_deals_and_projects(client_as, role):
    make_template()
    client = client_as(role)

    def grow(n):
        for _ in range(n):
            deal = make_deal(delivery_manager=client.user if role == "project_manager" else None)
            opportunity_win(opportunity_id=deal.pk, by=deal.owner)
            make_deal(owner=client.user) if role == "sales" else make_deal()

    grow(1)
    small, _ = count_queries(lambda: client.get("/"))
    grow(4)
    large, _ = count_queries(lambda: client.get("/"))
    assert large == small


def test_the_pm_sees_projects_it_runs_and_open_requests(client_as):
    make_template()
    client = client_as("project_manager")
    deal = make_deal(delivery_manager=client.user)
    opportunity_win(opportunity_id=deal.pk, by=deal.owner)
    panel = _panel(client.get("/"), "My projects")
    figures = {f.label: f for f in panel.figures}
    assert figures["Planned"].value == 1
    assert figures["Open resource requests"].value == 1 and "100.00 h" in figures["Open resource requests"].hint
    assert panel.rows[0]["cells"][0].endswith("Data platform")


def test_consultants_and_clients_get_no_pipeline_panels(client_as, client):
    for role in ("consultant", "client"):
        titles = [p.title for p in client_as(role).get("/").context["panels"]]
        assert "My pipeline" not in titles and not any(t.startswith("Weighted pipeline") for t in titles)
        client.logout()


def test_the_admin_pages_for_master_data_open(client_as):
    client = client_as("admin")
    client.user.is_staff = client.user.is_superuser = True
    client.user.save()
    for url in (
        "/admin/crm/stage/",
        "/admin/crm/account/",
        "/admin/projects/ratecard/add/",
        "/admin/projects/projecttemplate/",
    ):
        assert client.get(url).status_code == 200, url
