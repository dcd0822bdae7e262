"""Records that read the same are told apart in every dropdown, and people appear by full name everywhere
(psa.core.labels): two accounts named "Fabrikam Energy" were indistinguishable, owners showed as usernames."""

import pytest
from django import forms

from crm.models import Account
from psa.core.labels import person_name
from tests.crm.factories import AccountFactory

pytestmark = pytest.mark.django_db


def _options(html: str, select_name: str) -> list[str]:
    import re

    select = re.search(rf'<select name="{select_name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, select_name
    return [label.strip() for label in re.findall(r"<option[^>]*>(.*?)</option>", select.group(1), re.S)]


def test_two_accounts_with_one_name_are_told_apart_by_their_legal_name_in_the_deal_form(client_as):
    AccountFactory(name="Fabrikam Energy", legal_name="Fabrikam Energy GmbH")
    AccountFactory(name="Fabrikam Energy", legal_name="Fabrikam Energy AG")
    AccountFactory(name="Contoso")
    html = client_as("sales").get("/crm/opportunities/new/").content.decode()
    labels = _options(html, "account")
    assert "Fabrikam Energy (Fabrikam Energy GmbH)" in labels and "Fabrikam Energy (Fabrikam Energy AG)" in labels
    assert "Contoso" in labels  # a name nobody shares stays as it is


def test_records_sharing_name_and_every_detail_are_told_apart_by_their_number():
    a = AccountFactory(name="Twin", legal_name="Twin Ltd", external_id=None)
    b = AccountFactory(name="Twin", legal_name="Twin Ltd", external_id=None)
    field = forms.ModelChoiceField(queryset=Account.objects.filter(name="Twin").order_by("pk"))
    assert [label for _, label in field.choices][1:] == [f"Twin (#{a.pk})", f"Twin (#{b.pk})"]


def test_people_appear_by_full_name_in_dropdowns_and_on_pages(client_as, make_user):
    rep = make_user("sales", username="sseller", first_name="Sam", last_name="Seller")
    nameless = make_user("sales", username="nobody-named", first_name="", last_name="")
    assert person_name(rep) == "Sam Seller" and person_name(nameless) == "nobody-named"
    html = client_as("sales").get("/crm/opportunities/").content.decode()
    owners = _options(html, "owner")
    assert "Sam Seller" in owners and "sseller" not in owners and "nobody-named" in owners


@pytest.mark.postgres
def test_a_dropdown_reads_its_choices_with_one_plain_query_and_afresh_on_each_render():
    """Not a server-side cursor (DECLARE, FETCH, CLOSE for every select of every page): the labels need every
    record at once, so a cursor saved nothing."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    AccountFactory(name="Contoso")
    field = forms.ModelChoiceField(queryset=Account.objects.order_by("pk"))
    with CaptureQueriesContext(connection) as ctx:
        first = [choice for choice in field.choices]  # as a select renders them (list() would count first)
    assert [q["sql"].split()[0] for q in ctx.captured_queries] == ["SELECT"]
    AccountFactory(name="Northwind")
    again = [choice for choice in field.choices]
    assert len(again) == len(first) + 1  # the field's queryset is not cached between renders
