"""`seed_demo` (run by every `make run`) touches only the demo's own objects: on a database that holds a
firm's real data it changes nothing at all, and it never closes a period of such a database."""

from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.core.management import call_command

from ledger.models import AccountingPeriod
from projects.models import Contract, Project
from psa.web.demo import demo_foreign_data
from psa.web.models import DemoObject
from tests.billing.factories import make_account, make_contract, make_line, make_periods
from tests.ledger.factories import balanced, post

pytestmark = pytest.mark.django_db

COUNTED_APPS = ("auth", "authtoken", "crm", "projects", "ledger", "billing", "core", "web")


def _state() -> dict:
    """Every row count of the firm's tables, each period's status and the project and contract rows."""
    counts = {m._meta.label: m.objects.count() for m in apps.get_models() if m._meta.app_label in COUNTED_APPS}
    return {
        "counts": counts,
        "periods": list(AccountingPeriod.objects.order_by("start").values_list("start", "status")),
        "projects": list(Project.objects.order_by("pk").values()),
        "contracts": list(Contract.objects.order_by("pk").values()),
    }


@pytest.fixture
def real_firm(make_user):
    """A firm's own books: open periods from 2025 (the past ones not closed yet), a client with a fixed-fee
    project measured by percent complete and no estimate, a manual journal entry."""
    make_periods(start=date(2025, 1, 1), through=date(2027, 12, 31))
    owner = make_user("finance", username="owner")
    contract = make_contract(start=date(2025, 3, 1), end=date(2027, 2, 28))
    make_line(contract, "fixed_fee", price="48000.00", hours=Decimal("320.00"))
    post(balanced("2500.00"), key="owner-capital", by=owner)
    return contract


def test_seed_demo_changes_nothing_on_a_database_holding_other_data(real_firm, capsys):
    before = _state()
    call_command("seed_demo")
    after = _state()
    assert after["periods"] == before["periods"], "a period of the firm was closed or added"
    assert after["projects"] == before["projects"]
    assert after["contracts"] == before["contracts"]
    assert after["counts"] == before["counts"]
    out = capsys.readouterr().out
    assert "not the demo's" in out


def test_seed_demo_closes_no_period_of_a_database_holding_only_a_period(make_user):
    # Given a database where the firm has only set up its periods so far
    make_periods(start=date(2025, 1, 1), through=date(2027, 12, 31))
    before = _state()
    # When the demo is seeded into it
    call_command("seed_demo", "--quiet")
    # Then nothing of it changes
    assert _state() == before


@pytest.mark.slow  # seeds the whole demo firm
def test_the_demo_registers_what_it_seeds_and_leaves_a_firm_object_added_later_alone(make_user):
    # Given the demo seeded into an empty database
    call_command("seed_demo", "--quiet")
    assert demo_foreign_data() == {}, "everything the seed made is registered as the demo's"
    assert DemoObject.objects.count() > 0
    assert AccountingPeriod.objects.filter(status="closed").exists(), "the demo's past months are closed"
    # When someone adds a client of their own and the seed runs again (make run)
    make_account(name="Real Client")
    before = _state()
    call_command("seed_demo", "--quiet")
    # Then nothing changes
    assert _state() == before
