"""After a go-live completes, the entity's books start at the cut-over: documents dated before it are refused
with a message naming the cut-over (services), journal entries also by the database, and the months before it
stay closed."""

from datetime import date
from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction

from billing.services.golive import golive_complete, golive_create
from billing.services.payables.bills import bill_create
from ledger.models import AccountingPeriod, JournalEntry, PeriodClose
from ledger.services import period_reopen, periods_ensure
from projects.services.time import EntrySpec, validate_specs
from psa.core.entities import entity_default
from psa.core.exceptions import InvalidTransition, ValidationFailed
from tests.billing.factories import make_consultant, make_contract, make_periods
from tests.billing.golive_fixtures import CUTOVER, chart_file, opening_file, run
from tests.billing.payables_factories import cost_line, make_vendor

pytestmark = pytest.mark.django_db


@pytest.fixture
def complete(moved_in, admin):
    return golive_complete(golive=moved_in, user=admin)


def test_a_time_entry_before_the_cutover_is_refused_naming_it(complete):
    contract = make_contract(start=date(2026, 1, 1))
    consultant = make_consultant()
    spec = EntrySpec(consultant.pk, contract.project_id, None, date(2026, 3, 31), Decimal("2"))
    with pytest.raises(ValidationFailed, match="cut-over") as refused:
        validate_specs([spec])
    assert refused.value.code == "before_cutover" and "2026-04-01" in refused.value.message


def test_a_vendor_bill_before_the_cutover_is_refused_naming_it(complete, finance):
    contract = make_contract(start=date(2026, 1, 1))
    with pytest.raises(ValidationFailed, match="2026-04-01"):
        bill_create(
            by=finance,
            vendor_id=make_vendor().pk,
            number="V-1",
            bill_date=date(2026, 3, 15),
            lines=[cost_line(contract.project)],
        )


def test_the_database_refuses_an_entry_before_the_cutover_even_in_an_open_month(complete):
    march = AccountingPeriod.objects.get(start=date(2026, 3, 1))
    PeriodClose.objects.filter(period=march).delete()  # as if the month had been opened behind the services' back
    with pytest.raises(DatabaseError, match="cut-over"), transaction.atomic():
        JournalEntry.objects.create(
            number="JE-X-1",
            date=date(2026, 3, 10),
            period=march,
            entity=complete.entity,
            memo="Behind the back",
            idempotency_key="behind",
            spec_hash="x",
            total=Decimal("1.00"),
        )


def test_months_before_the_cutover_cannot_be_reopened(complete, admin):
    march = AccountingPeriod.objects.get(start=date(2026, 3, 1))
    with pytest.raises(InvalidTransition, match="cut-over"):
        period_reopen(period_id=march.pk, by=admin, reason="Fix", entity_id=complete.entity_id)


def test_months_before_a_cutover_are_not_added_as_open_ones(db, admin):
    make_periods(start=CUTOVER)  # the calendar starts at the cut-over: no history months at all
    golive = golive_create(entity=entity_default(), cutover_date=CUTOVER, user=admin)
    run(golive, "chart", chart_file(), admin, apply=True)
    run(golive, "opening_balances", opening_file(ar="0.00"), admin, apply=True)
    golive_complete(golive=golive, user=admin)
    with pytest.raises(ValidationFailed, match="cut-over"):
        periods_ensure(start=date(2026, 1, 1), through=date(2026, 12, 31))
    assert AccountingPeriod.objects.order_by("start").first().start == CUTOVER
