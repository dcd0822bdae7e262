import pytest

from psa.core.roles import Role
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def nav_labels(response) -> list[str]:
    return [item["label"] for item in response.context["nav_items"]]


def test_anonymous_users_are_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_every_role_gets_a_home_page_with_real_figures(client_as, role):
    response = client_as(role).get("/")
    assert response.status_code == 200
    assert response.context["panels"], "each role sees at least one panel"
    html = response.content.decode()
    assert "Lorem" not in html and "placeholder" not in html.lower()


def test_admin_sees_admin_menu_and_consultant_does_not(client_as, client):
    assert "Admin" in nav_labels(client_as("admin").get("/"))
    client.logout()
    assert "Admin" not in nav_labels(client_as("consultant").get("/"))


def test_clients_do_not_see_the_api_menu(client_as):
    assert "API" not in nav_labels(client_as("client").get("/"))


def test_people_panel_counts_users_by_role(client_as, make_user):
    make_user("consultant")
    make_user("consultant")
    make_user("sales")
    response = client_as("admin").get("/")
    people = next(p for p in response.context["panels"] if p.title == "People")
    figures = {f.label: f.value for f in people.figures}
    assert figures["Consultant"] == 2
    assert figures["Sales"] == 1
    assert figures["Administrator"] == 1
    assert figures["Active users"] == 4


def test_people_panel_is_hidden_from_consultants(client_as):
    response = client_as("consultant").get("/")
    assert "People" not in [p.title for p in response.context["panels"]]


def _queries_for_home(client) -> int:
    return count_queries(lambda: client.get("/"), status=200)[0]


def test_home_queries_do_not_grow_with_data(client_as, make_user):
    from psa.core.audit import audit_record

    client = client_as("admin")
    small = _queries_for_home(client)
    for i in range(15):
        user = make_user("consultant")
        audit_record(actor=user, action="x", object_type="t", object_id=i, summary=f"event {i}")
    assert _queries_for_home(client) == small


def test_a_short_menu_stays_flat_and_a_long_one_folds_into_groups(client_as, client):
    from tests.projects.time_factories import consultant_on, won_project

    client.force_login(consultant_on(won_project()).user)  # a consultant with a consultant record
    consultant_menu = client.get("/").context["nav_menu"]
    assert all("children" not in e for e in consultant_menu)
    assert [e["label"] for e in consultant_menu][:3] == ["Home", "Timesheet", "Expenses"]
    client.logout()
    admin = client_as("admin").get("/ledger/")
    menu = admin.context["nav_menu"]
    assert len(menu) <= 8
    groups = {e["label"]: e for e in menu if "children" in e}
    assert {"Sales", "Delivery", "Finance", "Settings"} <= set(groups)
    assert [c["label"] for c in groups["Settings"]["children"]] == ["API", "Webhooks", "Admin"]
    # Every entry is still reachable, once, and the group of the current page is marked active.
    flat = [c["label"] for e in menu for c in e.get("children", [e])]
    assert sorted(flat) == sorted(nav_labels(admin))
    assert groups["Finance"]["active"] and not groups["Sales"]["active"]
    html = admin.content.decode()
    assert html.count('data-testid="nav-group"') == len(groups)


def _menu_urls(response) -> list[str]:
    return [item["url"] for item in response.context["nav_items"]]


def test_the_menu_offers_the_timesheet_and_expenses_only_to_a_login_with_a_consultant_record(client_as, client):
    # The administrator holds every staff role but has no consultant record: Timesheet and Expenses answered 404.
    from tests.projects.time_factories import consultant_on, won_project

    admin = client_as("admin")
    urls = _menu_urls(admin.get("/"))
    assert "/time/" not in urls and "/expenses/" not in urls
    for url in ("/time/", "/expenses/"):  # typed in: a plain explanation, not a 404
        response = admin.get(url)
        assert response.status_code == 200 and b"no consultant record" in response.content
    client.logout()

    carl = consultant_on(won_project())
    client.force_login(carl.user)
    urls = _menu_urls(client.get("/"))
    assert "/time/" in urls and "/expenses/" in urls
    assert client.get("/time/").status_code == 200


def test_every_menu_entry_opens_for_every_staff_role(client_as, client):
    # (A client's one entry, the portal, needs the contact that links the login to its account.)
    for role in Role:
        if role == Role.CLIENT:
            continue
        response = client_as(role.value).get("/")
        for url in _menu_urls(response):
            if url.startswith("/admin/"):
                continue
            assert client.get(url).status_code == 200, (role, url)
        client.logout()


def test_recent_activity_names_people_by_full_name(client_as, make_user):
    from psa.core.audit import audit_record

    fiona = make_user("finance", username="ffinance", first_name="Fiona", last_name="Finance")
    audit_record(actor=fiona, action="x", object_type="t", object_id=1, summary="closed a month")
    panel = next(p for p in client_as("admin").get("/").context["panels"] if p.title == "Recent activity")
    assert panel.rows[0]["cells"][1] == "Fiona Finance"
