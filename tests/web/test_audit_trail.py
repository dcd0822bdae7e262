"""Audit trail: who changed what and when on master and financial data (trigger-written history, psa.core.history)."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User

from ledger.models import AccountingPeriod
from ledger.services.revenue import recognition_run
from projects.models import ContractLine
from psa.core.models import UserRoleEvent
from tests.billing.factories import make_contract, make_line, make_periods
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def test_closing_a_period_in_the_browser_records_who_closed_it(client_as):
    make_periods(start=date(2026, 1, 1), through=date(2026, 2, 28))
    jan = AccountingPeriod.objects.get(start=date(2026, 1, 1))
    client = client_as("finance", username="fiona", first_name="Fiona", last_name="Fin")
    recognition_run(period_id=jan.pk, by=client.user)  # the close checklist's blocking item
    response = client.post(f"/ledger/periods/{jan.pk}/close/", {"reason": "January done"}, HTTP_X_REQUEST_ID="req-42")
    assert response.status_code == 302

    record = jan.events.order_by("pgh_id").last()
    assert record.pgh_label == "update"
    assert record.status == "closed"
    assert User.objects.get(pk=record.pgh_context.metadata["user"]).username == "fiona"
    assert record.pgh_context.metadata["request_id"] == "req-42"

    page = client.get(f"/audit/period/{jan.pk}/fragment/").content.decode()
    assert "Fiona Fin" in page
    assert "closed" in page
    assert jan.events.filter(pgh_label="insert").exists()  # periods_ensure bulk-creates: the trigger still sees it


def test_a_contract_line_change_shows_on_the_contract_trail_with_old_and_new_values(client_as):
    contract = make_contract()
    line = make_line(contract, "tm", price="1000.00", rate=Decimal("100"))
    line.price = Decimal("1500.00")
    line.save()
    html = client_as("finance").get(f"/audit/contract/{contract.pk}/fragment/").content.decode()
    assert "1000.00" in html and "1500.00" in html
    assert html.count('data-testid="audit-row"') == 3  # contract created, line created, line changed
    assert contract.account.name in html  # foreign keys are shown by name, not id


def test_the_trail_is_refused_to_roles_that_may_not_see_rates(client_as):
    contract = make_contract()
    assert client_as("sales").get(f"/audit/contract/{contract.pk}/fragment/").status_code == 404
    assert client_as("consultant").get(f"/audit/contract/{contract.pk}/").status_code == 404
    assert client_as("project_manager").get(f"/audit/contract/{contract.pk}/fragment/").status_code == 200


def test_unknown_kinds_and_objects_are_404(client_as):
    client = client_as("admin")
    assert client.get("/audit/timeentry/1/").status_code == 404
    assert client.get("/audit/contract/999999/").status_code == 404


def test_set_based_updates_are_in_the_trail(client_as):
    """QuerySet.update() sends no signal, but the trigger records it (django-simple-history missed it)."""
    contract = make_contract()
    line = make_line(contract, "tm", price="1000.00")
    ContractLine.objects.filter(pk=line.pk).update(price=Decimal("2000.00"))
    assert list(line.events.order_by("pgh_id").values_list("pgh_label", "price")) == [
        ("insert", Decimal("1000.00")),
        ("update", Decimal("2000.00")),
    ]
    html = client_as("finance").get(f"/audit/contract/{contract.pk}/fragment/").content.decode()
    assert "1000.00" in html and "2000.00" in html


def test_user_role_changes_are_recorded(client_as, make_user):
    user = make_user("sales")
    user.groups.add(Group.objects.get(name="finance"))
    html = client_as("admin").get(f"/audit/user/{user.pk}/").content.decode()
    assert user.username in html
    assert UserRoleEvent.objects.filter(user_id=user.pk, group__name="finance", pgh_label="insert").count() == 1
    assert "finance" in html  # the role assignment shows the group by name
    assert client_as("finance").get(f"/audit/user/{user.pk}/").status_code == 404


def test_the_fragment_queries_do_not_grow_with_history(client_as):
    contract = make_contract()
    line = make_line(contract, "tm", price="1000.00")
    client = client_as("finance")
    small, _ = count_queries(lambda: client.get(f"/audit/contract/{contract.pk}/fragment/"))
    for i in range(20):
        line.price = Decimal(1000 + i)
        line.save()
    large, _ = count_queries(lambda: client.get(f"/audit/contract/{contract.pk}/fragment/"))
    assert large == small
