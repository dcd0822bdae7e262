"""The invoice and payment lists filter by client without rendering every account as an <option>: a client
name box for people, the account id kept for links and the API."""

from datetime import date

import pytest
from django.urls import reverse

from billing.services import payment_record
from tests.billing.factories import issued_invoice, make_account
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["billing:invoice-list", "billing:payment-list"])
def test_the_lists_do_not_render_every_account_as_an_option(client_as, periods, name):
    client = client_as("finance")
    for i in range(5):
        make_account(name=f"Quiet client {i}")
    body = client.get(reverse(name)).content.decode()
    assert "Quiet client" not in body
    assert 'name="client"' in body or 'name="q"' in body


@pytest.mark.parametrize("name", ["billing:invoice-list", "billing:payment-list"])
def test_an_account_id_in_the_link_still_filters_and_is_kept_by_the_filter_form(client_as, periods, name):
    client = client_as("finance")
    mine, other = make_account(name="Mine Ltd"), make_account(name="Other Ltd")
    for account in (mine, other):
        issued_invoice(client.user, "100.00", "50.00", account=account)
        payment_record(by=client.user, account_id=account.pk, amount="60.00", received_on=date(2026, 2, 5))
    response = client.get(reverse(name), {"account": mine.pk})
    assert response.status_code == 200
    rows = [o.account_id for o in response.context["page_obj"]]
    assert rows and set(rows) == {mine.pk}
    assert f'name="account" value="{mine.pk}"' in response.content.decode()


def test_the_payment_list_filters_by_client_name(client_as, periods):
    client = client_as("finance")
    for name in ("Acme Holdings", "Zenith Partners"):
        payment_record(
            by=client.user, account_id=make_account(name=name).pk, amount="10.00", received_on=date(2026, 2, 5)
        )
    response = client.get(reverse("billing:payment-list"), {"client": "acme"})
    assert [p.account.name for p in response.context["page_obj"]] == ["Acme Holdings"]


def test_an_unknown_account_id_is_an_inline_error_not_a_500(client_as, periods):
    response = client_as("finance").get(reverse("billing:payment-list"), {"account": "abc"})
    assert response.status_code == 200


def _grow(finance, n: int) -> None:
    for _ in range(n):
        account = make_account()
        issued_invoice(finance, "100.00", "50.00", account=account)
        payment_record(by=finance, account_id=account.pk, amount="5.00", received_on=date(2026, 2, 5))


@pytest.mark.parametrize(
    ("name", "params"), [("billing:invoice-list", {"q": "Client"}), ("billing:payment-list", {"client": "Client"})]
)
def test_the_filtered_lists_cost_the_same_queries_at_two_sizes(client_as, periods, name, params):
    client = client_as("finance")
    _grow(client.user, 2)
    small, first = count_queries(lambda: client.get(reverse(name), params), status=200)
    _grow(client.user, 8)
    large, second = count_queries(lambda: client.get(reverse(name), params), status=200)
    assert len(first.context["page_obj"]) == 2 and len(second.context["page_obj"]) == 10
    assert large == small
