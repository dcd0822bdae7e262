"""A PM changes or removes allocations from the project page: the same rules as a new allocation, an end date
that would strand logged time refused, removal refused once time is logged under it; others are refused."""

import datetime as dt
from decimal import Decimal

import pytest

from projects.models import Allocation
from projects.services import staffing
from projects.services import time as ts
from psa.core.exceptions import ConflictError, PermissionDeniedError, ValidationFailed
from tests.crm.factories import END
from tests.projects.time_factories import MONDAY

pytestmark = pytest.mark.django_db


def log(carl, setup, day, hours="4"):
    return ts.time_entry_put(
        by=carl.user, consultant_id=carl.pk, project_id=setup.project.pk, task_id=None, day=day, hours=hours
    )


def test_a_pm_changes_hours_end_and_kind_on_the_project_page(client, setup, carl):
    allocation = Allocation.objects.get(consultant=carl)
    client.force_login(setup.pm)
    page = client.get(f"/projects/{setup.project.pk}/")
    assert page.status_code == 200 and 'data-testid="team"' in page.content.decode()
    new_end = MONDAY + dt.timedelta(days=20)
    response = client.post(
        f"/projects/{setup.project.pk}/allocations/{allocation.pk}/",
        {"action": "update", "hours_per_week": "24", "end_date": new_end.isoformat(), "kind": "soft"},
        follow=True,
    )
    assert "Changed" in response.content.decode()
    allocation.refresh_from_db()
    assert (allocation.hours_per_week, allocation.end_date, allocation.kind) == (Decimal("24.00"), new_end, "soft")


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"hours_per_week": "0"}, "hours_per_week_range"),
        ({"hours_per_week": "200"}, "hours_per_week_range"),
        ({"end_date": END + dt.timedelta(days=1)}, "inside_project_dates"),
        ({"end_date": dt.date(2026, 1, 1)}, "dates_ordered"),
        ({"kind": "maybe"}, "kind_valid"),
    ],
)
def test_bad_changes_are_refused_naming_the_rule_and_nothing_changes(setup, carl, changes, rule):
    allocation = Allocation.objects.get(consultant=carl)
    args = {"hours_per_week": "40", "end_date": allocation.end_date, "kind": "hard", **changes}
    with pytest.raises(ValidationFailed, match=rule):
        staffing.allocation_update(by=setup.pm, allocation_id=allocation.pk, **args)
    allocation.refresh_from_db()
    assert (allocation.hours_per_week, allocation.kind) == (Decimal("40.00"), "hard")


def test_logged_time_keeps_its_allocation(setup, carl):
    allocation = Allocation.objects.get(consultant=carl)
    log(carl, setup, MONDAY + dt.timedelta(days=7))
    with pytest.raises(ValidationFailed, match="covers_logged_time"):
        staffing.allocation_update(
            by=setup.pm, allocation_id=allocation.pk, hours_per_week="40", end_date=MONDAY, kind="hard"
        )
    with pytest.raises(ConflictError, match="covers_logged_time"):
        staffing.allocation_remove(by=setup.pm, allocation_id=allocation.pk)
    # Ending it after the last logged day is fine; so is removing it once another allocation covers the time.
    staffing.allocation_update(
        by=setup.pm, allocation_id=allocation.pk, hours_per_week="40", end_date=MONDAY + dt.timedelta(days=7),
        kind="hard",
    )  # fmt: skip
    staffing.allocation_create(
        by=setup.pm, project_id=setup.project.pk, consultant_id=carl.pk, hours_per_week="8",
        start_date=MONDAY, end_date=MONDAY + dt.timedelta(days=14), confirm_overbooking=True,
    )  # fmt: skip
    staffing.allocation_remove(by=setup.pm, allocation_id=allocation.pk)
    assert Allocation.objects.filter(consultant=carl).count() == 1


def test_consultants_and_finance_cannot_change_allocations(client, client_as, setup, carl):
    allocation = Allocation.objects.get(consultant=carl)
    with pytest.raises(PermissionDeniedError):
        staffing.allocation_remove(by=carl.user, allocation_id=allocation.pk)
    finance = client_as("finance")
    url = f"/projects/{setup.project.pk}/allocations/{allocation.pk}/"
    assert finance.post(url, {"action": "remove"}).status_code == 403
    assert Allocation.objects.filter(pk=allocation.pk).exists()
    # Finance may read the project page but gets no edit controls.
    page = finance.get(f"/projects/{setup.project.pk}/")
    assert page.status_code == 200 and 'data-testid="allocation-save"' not in page.content.decode()


def test_an_unparseable_end_is_a_message_not_an_error(client, setup, carl):
    allocation = Allocation.objects.get(consultant=carl)
    client.force_login(setup.pm)
    response = client.post(
        f"/projects/{setup.project.pk}/allocations/{allocation.pk}/",
        {"action": "update", "hours_per_week": "lots", "end_date": "soon", "kind": "hard"},
        follow=True,
    )
    assert "the end a date" in response.content.decode()


def test_the_contract_history_loads_only_for_roles_that_see_rates(client_as, client, setup):
    sales = client_as("sales").get(f"/projects/{setup.project.pk}/").content.decode()
    assert 'data-testid="contract-history"' not in sales
    client.force_login(setup.pm)
    page = client.get(f"/projects/{setup.project.pk}/").content.decode()
    assert 'data-testid="contract-history"' in page
