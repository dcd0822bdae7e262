"""The pipeline's board and list (issue 23): Won/Lost targets, named close months, import on the list tab and
inline editing of a deal from the list."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from crm.models import Opportunity
from tests.crm.factories import make_deal
from tests.factories import UserFactory
from tests.projects.factories import make_template
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def rep(db):
    return UserFactory(roles=["sales"])


@pytest.fixture
def rep_client(client, rep):
    client.force_login(rep)
    return client


# --- board: Won and Lost ---------------------------------------------------------------------------------
def test_the_board_offers_won_and_lost_targets_wired_to_the_win_and_lose_actions(rep_client, rep):
    deal = make_deal(owner=rep, ready=False, name="Target deal")
    html = rep_client.get(reverse("crm:board")).content.decode()
    assert 'data-outcome="won"' in html and 'data-outcome="lost"' in html
    card = re.search(rf'data-testid="card-{deal.pk}"[^>]*>', html)
    assert card
    assert f'data-win-url="{reverse("projects:opportunity-win", args=[deal.pk])}"' in card.group(0)
    assert f'data-lose-url="{reverse("crm:opportunity-lose", args=[deal.pk])}"' in card.group(0)
    assert 'id="board-lose-reason" name="reason"' in html and "required" in html


def test_a_reader_gets_no_outcome_targets(client, db):
    client.force_login(UserFactory(roles=["finance"]))
    html = client.get(reverse("crm:board")).content.decode()
    assert 'data-outcome="won"' not in html and "board-lose-modal" not in html


def test_dropping_on_lost_with_a_reason_closes_the_deal_and_returns_to_the_board(rep_client, rep):
    deal = make_deal(owner=rep, ready=False)
    board = reverse("crm:board") + "?owner=" + str(rep.pk)
    response = rep_client.post(
        reverse("crm:opportunity-lose", args=[deal.pk]), {"reason": "Went with a competitor", "next": board}
    )
    assert response.status_code == 302 and response["Location"] == board
    deal.refresh_from_db()
    assert deal.status == "lost" and deal.lost_reason == "Went with a competitor"


def test_lost_without_a_reason_is_refused_and_says_why(rep_client, rep):
    deal = make_deal(owner=rep, ready=False)
    response = rep_client.post(
        reverse("crm:opportunity-lose", args=[deal.pk]), {"reason": "", "next": reverse("crm:board")}, follow=True
    )
    assert "Say why the deal was lost." in response.content.decode()
    deal.refresh_from_db()
    assert deal.status == "open"


def test_dropping_on_won_runs_the_win_and_handoff(rep_client, rep):
    make_template()
    deal = make_deal(owner=rep, ready=True)
    html = rep_client.get(reverse("crm:board")).content.decode()
    win_url = re.search(rf'data-testid="card-{deal.pk}"[^>]*data-win-url="([^"]+)"', html)
    assert win_url
    response = rep_client.post(win_url.group(1))
    deal.refresh_from_db()
    assert deal.status == "won"
    assert response.status_code == 302 and response["Location"].startswith("/projects/")


# --- filter ----------------------------------------------------------------------------------------------
def test_the_close_month_filter_names_its_months(rep_client):
    html = rep_client.get(reverse("crm:board")).content.decode()
    select = re.search(r'<select name="close_month".*?</select>', html, re.S)
    assert select, "the close month is a select of named months"
    today = dt.date.today()
    assert f'<option value="{today:%Y-%m}">{today:%B %Y}</option>' in select.group(0)
    assert "Any close month" in select.group(0)
    assert 'type="month"' not in html


def test_the_close_month_filter_still_filters(rep_client, rep):
    inside = make_deal(owner=rep, ready=False, name="Closes in March", expected_close_date=dt.date(2027, 3, 10))
    outside = make_deal(owner=rep, ready=False, name="Closes in April", expected_close_date=dt.date(2027, 4, 10))
    html = rep_client.get(reverse("crm:opportunities"), {"close_month": "2027-03"}).content.decode()
    assert inside.name in html and outside.name not in html
    assert '<option value="2027-03" selected>March 2027</option>' in html


# --- import on the list tab ------------------------------------------------------------------------------
def test_the_list_tab_offers_import_to_those_who_may_import(client, db):
    client.force_login(UserFactory(roles=["sales"]))
    assert 'data-testid="import-csv"' in client.get(reverse("crm:opportunities")).content.decode()
    client.force_login(UserFactory(roles=["project_manager"]))
    assert 'data-testid="import-csv"' not in client.get(reverse("crm:opportunities")).content.decode()


# --- inline edit from the list ---------------------------------------------------------------------------
def test_a_deal_is_edited_inline_from_the_list(rep_client, rep):
    deal = make_deal(owner=rep, ready=False, name="Old name")
    url = reverse("crm:opportunity-inline", args=[deal.pk])
    assert f'hx-get="{url}"' in rep_client.get(reverse("crm:opportunities")).content.decode()
    form = rep_client.get(url)
    assert form.status_code == 200 and 'name="probability"' in form.content.decode()
    saved = rep_client.post(url, {"name": "New name", "probability": "35", "expected_close_date": "2027-02-15"})
    assert saved.status_code == 200
    assert f'data-testid="opp-row-{deal.pk}"' in saved.content.decode() and "New name" in saved.content.decode()
    deal.refresh_from_db()
    assert (deal.name, deal.probability, deal.expected_close_date) == ("New name", 35, dt.date(2027, 2, 15))


def test_inline_errors_name_the_field_and_save_nothing(rep_client, rep):
    deal = make_deal(owner=rep, ready=False, name="Keep me")
    url = reverse("crm:opportunity-inline", args=[deal.pk])
    response = rep_client.post(url, {"name": "", "probability": "150", "expected_close_date": "2027-02-15"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="inline-error-name"' in html and 'data-testid="inline-error-probability"' in html
    assert "data-swap-errors" in html
    deal.refresh_from_db()
    assert deal.name == "Keep me"


def test_only_the_owner_or_a_manager_edits_inline(client, rep, db):
    deal = make_deal(owner=rep, ready=False)
    url = reverse("crm:opportunity-inline", args=[deal.pk])
    client.force_login(UserFactory(roles=["sales"]))
    assert client.get(url).status_code == 403
    assert client.post(url, {"name": "x", "probability": "10", "expected_close_date": "2027-01-01"}).status_code == 403
    client.force_login(UserFactory(roles=["finance"]))
    assert client.get(url).status_code == 403
    assert Opportunity.objects.get(pk=deal.pk).name == deal.name


def test_the_list_costs_the_same_queries_at_two_sizes_with_inline_edit(rep_client, rep):
    for i in range(2):
        make_deal(owner=rep, ready=False, name=f"Small {i}")
    small, _ = count_queries(lambda: rep_client.get(reverse("crm:opportunities")), status=200)
    for i in range(6):
        make_deal(owner=rep, ready=False, name=f"Large {i}")
    large, response = count_queries(lambda: rep_client.get(reverse("crm:opportunities")), status=200)
    assert large == small
    assert response.content.decode().count('data-testid="inline-edit-') == 8
