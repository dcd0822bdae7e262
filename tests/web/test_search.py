"""Global search: grouped results with links, scoped to what the user may open, pg_trgm, a fixed query cost."""

import re

import pytest
from django.db import connection
from django.urls import reverse

from projects.models import Project
from psa.web.search import search
from tests.billing.factories import issued_invoice, make_account, make_consultant
from tests.crm.factories import make_deal
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(periods, make_user):
    finance = make_user("finance")
    account = make_account(name="Zephyr Logistics", legal_name="Zephyr Logistics AG")
    invoice = issued_invoice(finance, "100.00", account=account)
    deal = make_deal(account=account, name="Zephyr data platform", ready=False)
    project = Project.objects.create(code="ZEP01", name="Zephyr rollout", account=account, currency="EUR")
    person = make_consultant(first="Zelda", last="Zephyrine")
    return {"finance": finance, "account": account, "invoice": invoice, "deal": deal, "project": project,
            "person": person}  # fmt: skip


@pytest.fixture
def periods(db):
    from tests.billing.factories import make_periods

    return make_periods()


def _group(html: str, kind: str) -> str:
    match = re.search(rf'data-testid="search-group-{kind}".*?</section>', html, re.S)
    return match.group(0) if match else ""


def test_finance_finds_every_kind_grouped_with_links(client, world):
    client.force_login(world["finance"])
    html = client.get(reverse("search"), {"q": "zephyr"}).content.decode()
    assert reverse("crm:account", args=[world["account"].pk]) in _group(html, "accounts")
    assert reverse("crm:opportunity", args=[world["deal"].pk]) in _group(html, "opportunities")
    assert reverse("projects:project", args=[world["project"].pk]) in _group(html, "projects")
    assert reverse("projects:person", args=[world["person"].pk]) in _group(html, "people")
    assert "search-group-invoices" not in html  # "zephyr" is no invoice number


def test_an_invoice_is_found_by_its_number(client, world):
    client.force_login(world["finance"])
    number = world["invoice"].number
    html = client.get(reverse("search"), {"q": number[-6:]}).content.decode()
    assert reverse("billing:invoice-detail", args=[world["invoice"].pk]) in _group(html, "invoices")


def test_a_misspelling_is_found_by_trigram_similarity(world):
    assert connection.vendor == "postgresql"
    groups = {g.kind: g for g in search(user=world["finance"], q="Zephir Logistiks")}
    assert [h.label for h in groups["accounts"].hits] == ["Zephyr Logistics"]


def test_a_sales_rep_finds_accounts_and_deals_but_no_invoices_or_people(client, world, make_user):
    client.force_login(make_user("sales"))
    html = client.get(reverse("search"), {"q": world["invoice"].number}).content.decode()
    assert "search-group-invoices" not in html
    html = client.get(reverse("search"), {"q": "zephyr"}).content.decode()
    assert _group(html, "accounts") and _group(html, "opportunities")
    assert "search-group-people" not in html


def test_a_consultant_has_no_search_and_finds_nothing(client, world, make_user):
    client.force_login(make_user("consultant"))
    assert client.get(reverse("search"), {"q": "zephyr"}).status_code == 403
    assert 'data-testid="global-search"' not in client.get(reverse("home")).content.decode()
    assert search(user=make_user("consultant"), q="zephyr") == []


def test_a_client_portal_user_has_no_search(client, world, make_user):
    client.force_login(make_user("client"))
    assert client.get(reverse("search"), {"q": world["invoice"].number}).status_code == 403
    assert search(user=make_user("client"), q=world["invoice"].number) == []


def test_search_needs_a_sign_in(client):
    response = client.get(reverse("search"), {"q": "zephyr"})
    assert response.status_code == 302 and "/login" in response["Location"]


def test_staff_see_the_box_in_the_top_bar(client, make_user, db):
    client.force_login(make_user("sales"))
    html = client.get(reverse("crm:board")).content.decode()
    assert 'data-testid="global-search"' in html and 'aria-keyshortcuts="/ Control+K"' in html


def test_a_one_letter_query_asks_for_more(client, world):
    client.force_login(world["finance"])
    html = client.get(reverse("search"), {"q": "z"}).content.decode()
    assert "Type at least 2 characters." in html and "search-results" not in html


def _grow(finance, n: int):
    for i in range(n):
        account = make_account(name=f"Quartz {i} {n}")
        issued_invoice(finance, "10.00", account=account)
        make_deal(account=account, name=f"Quartz deal {i} {n}", ready=False)
        Project.objects.create(code=f"Q{n}{i:03d}", name=f"Quartz project {i}", account=account, currency="EUR")
        make_consultant(first="Quinn", last=f"Quartz{n}{i}")


def test_search_costs_the_same_queries_at_two_sizes(client, periods, make_user):
    finance = make_user("finance")
    client.force_login(finance)
    _grow(finance, 2)
    small, _ = count_queries(lambda: client.get(reverse("search"), {"q": "quartz"}), status=200)
    _grow(finance, 6)
    large, response = count_queries(lambda: client.get(reverse("search"), {"q": "quartz"}), status=200)
    assert large == small
    assert response.content.decode().count("list-group-item-action") >= 4 * 6
