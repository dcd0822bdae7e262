"""A subcontractor's cost rate at approval (their own dated rate, else the vendor's hourly rate) and the cost rate
correction that re-snapshots approved entries (projects.services.staffing.time_cost_rate_correct)."""

import datetime as dt
from decimal import Decimal

import pytest

from crm.models import Vendor
from projects.models import Consultant, CostRate, TimeEntry
from projects.services import time as ts
from projects.services.staffing import cost_rate_set, time_cost_rate_correct
from psa.core.exceptions import NotFoundError, PermissionDeniedError
from tests.factories import UserFactory
from tests.projects.time_factories import MONDAY, consultant_on

pytestmark = pytest.mark.django_db


@pytest.fixture
def subco(setup):
    supplier = Vendor.objects.create(
        name="Subco", legal_name="Subco Ltd", country="GB", currency="GBP", is_subcontractor=True,
        hourly_rate=Decimal("55.5000"),
    )  # fmt: skip
    person = consultant_on(setup)
    CostRate.objects.filter(consultant=person).delete()  # supplied by the vendor: no rate of their own
    Consultant.objects.filter(pk=person.pk).update(vendor=supplier)
    return person


def _approve(setup, who, days=1) -> list[int]:
    for i in range(days):
        ts.time_entry_put(by=who.user, consultant_id=who.pk, project_id=setup.project.pk, task_id=None,
                          day=MONDAY + dt.timedelta(days=i), hours="4")  # fmt: skip
    ts.timesheet_submit(by=who.user, consultant_id=who.pk, week=MONDAY)
    ids = list(TimeEntry.objects.filter(consultant=who).values_list("pk", flat=True))
    ts.time_entries_approve(by=setup.pm, entry_ids=ids)
    return ids


def test_a_subcontractor_without_a_rate_of_their_own_costs_the_vendors_rate(setup, subco):
    [entry_id] = _approve(setup, subco)
    assert TimeEntry.objects.get(pk=entry_id).cost_rate == Decimal("55.5000")


def test_a_subcontractors_own_dated_rate_wins_over_the_vendors(setup, subco):
    cost_rate_set(by=setup.admin, consultant_id=subco.pk, rate="61", valid_from=dt.date(2026, 1, 1))
    [entry_id] = _approve(setup, subco)
    assert TimeEntry.objects.get(pk=entry_id).cost_rate == Decimal("61.0000")


def test_an_employee_is_unchanged_by_vendors(setup, carl):
    [entry_id] = _approve(setup, carl)
    assert TimeEntry.objects.get(pk=entry_id).cost_rate == Decimal("70.0000")


def test_a_cost_rate_correction_re_snapshots_approved_entries_from_a_date(setup, carl):
    ids = _approve(setup, carl, days=2)
    cost_rate_set(by=setup.admin, consultant_id=carl.pk, rate="72", valid_from=MONDAY + dt.timedelta(days=1))
    changed = time_cost_rate_correct(by=setup.admin, consultant_id=carl.pk, from_date=MONDAY)
    rates = dict(TimeEntry.objects.filter(pk__in=ids).values_list("date", "cost_rate"))
    assert changed == 1
    assert rates == {MONDAY: Decimal("70.0000"), MONDAY + dt.timedelta(days=1): Decimal("72.0000")}
    assert time_cost_rate_correct(by=setup.admin, consultant_id=carl.pk, from_date=MONDAY) == 0  # nothing twice


def test_a_cost_rate_correction_is_refused_to_other_roles_and_unknown_consultants(setup, carl):
    with pytest.raises(PermissionDeniedError):
        time_cost_rate_correct(by=setup.pm, consultant_id=carl.pk, from_date=MONDAY)
    with pytest.raises(PermissionDeniedError):
        time_cost_rate_correct(by=UserFactory(roles=["consultant"]), consultant_id=carl.pk, from_date=MONDAY)
    with pytest.raises(NotFoundError):
        time_cost_rate_correct(by=setup.admin, consultant_id=999999, from_date=MONDAY)
