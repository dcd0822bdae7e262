"""Staffing search, allocation from a request, the heatmaps and the utilization page."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from projects.models import Allocation
from projects.selectors import capacity_heatmap, consultant_search, role_bench_vs_demand, utilization
from projects.services import staffing
from projects.services import time as ts
from tests.crm.factories import END, START
from tests.factories import UserFactory
from tests.projects.time_factories import MONDAY, consultant_on

pytestmark = pytest.mark.django_db


def test_search_finds_free_hours_net_of_allocations_and_time_off(setup):
    carl = consultant_on(setup, hours=Decimal("30"))
    staffing.time_off_add(by=setup.pm, consultant_id=carl.pk, start_date=MONDAY, end_date=MONDAY)
    week = (MONDAY, MONDAY + dt.timedelta(days=6))
    (found,) = consultant_search(role_id=setup.role.pk, start=week[0], end=week[1])
    assert (found.capacity, found.booked, found.free) == (Decimal("32.00"), Decimal("30.00"), Decimal("2.00"))
    assert consultant_search(role_id=setup.role.pk, start=week[0], end=week[1], min_free_hours=Decimal("3")) == []


def test_a_pm_allocates_from_a_resource_request(client, setup):
    carl = consultant_on(setup)
    rr = setup.project.resource_requests.get()
    client.force_login(setup.pm)
    page = client.get(reverse("projects:staffing"), {"request": rr.pk})
    assert page.status_code == 200 and str(carl) in page.content.decode()
    form = {"request": rr.pk, "consultant": carl.pk, "hours_per_week": "10", "kind": "hard",
            "start": START.isoformat(), "end": END.isoformat()}  # fmt: skip
    asked = client.post(reverse("projects:allocate"), form)  # carl is fully booked: the page asks first
    assert 'name="confirm_overbooking"' in asked.content.decode()
    client.post(reverse("projects:allocate"), {**form, "confirm_overbooking": "1"})
    assert Allocation.objects.filter(resource_request=rr, kind="hard", hours_per_week=10).exists()


def test_heatmaps_show_load_and_bench_against_demand(client, setup):
    consultant_on(setup, hours=Decimal("44"))
    _weeks, rows = capacity_heatmap(start=MONDAY, weeks=2)
    assert rows[0].cells[0]["load"] == 110 and rows[0].cells[0]["hard"] == Decimal("44.0")
    _w, roles = role_bench_vs_demand(start=MONDAY, weeks=2)
    assert roles[0]["role"] == "Senior consultant"
    client.force_login(setup.pm)
    assert client.get(reverse("projects:heatmap"), {"start": MONDAY.isoformat()}).status_code == 200


def test_utilization_names_consultants_as_everywhere_else_and_counts_their_time_off(setup):
    full = consultant_on(setup, user=UserFactory(first_name="Carla", last_name="Mendes", roles=["consultant"]))
    first_only = consultant_on(setup, user=UserFactory(first_name="Dee", last_name="", roles=["consultant"]))
    nameless = consultant_on(setup, user=UserFactory(first_name="", last_name="", roles=["consultant"]))
    staffing.time_off_add(by=setup.pm, consultant_id=full.pk, start_date=MONDAY, end_date=MONDAY)
    rows = {r.key: r for r in utilization(start=MONDAY, end=MONDAY + dt.timedelta(days=6))}
    assert {rows[str(c.pk)].label for c in (full, first_only, nameless)} == {
        "Carla Mendes", "Dee", nameless.user.username,
    }  # fmt: skip
    assert [rows[str(c.pk)].label for c in (full, first_only, nameless)] == [str(full), str(first_only), str(nameless)]
    assert (rows[str(full.pk)].capacity, rows[str(first_only.pk)].capacity) == (Decimal("32.00"), Decimal("40.00"))
    (role,) = utilization(start=MONDAY, end=MONDAY + dt.timedelta(days=6), by="role")
    assert (role.label, role.capacity) == (setup.role.name, Decimal("112.00"))


def test_utilization_against_capacity_and_target(client, setup):
    carl = consultant_on(setup)
    for i in range(5):
        ts.time_entry_put(by=carl.user, consultant_id=carl.pk, project_id=setup.project.pk, task_id=None,
                          day=MONDAY + dt.timedelta(days=i), hours="6")  # fmt: skip
    ts.timesheet_submit(by=carl.user, consultant_id=carl.pk, week=MONDAY)
    ts.time_entries_approve(by=setup.pm, entry_ids=list(carl.time_entries.values_list("pk", flat=True)))
    (row,) = utilization(start=MONDAY, end=MONDAY + dt.timedelta(days=6))
    assert (row.capacity, row.billable, row.utilization, row.target) == (
        Decimal("40.00"), Decimal("30.00"), Decimal("75.0"), Decimal("75.0"),
    )  # fmt: skip
    (month,) = utilization(start=MONDAY, end=MONDAY + dt.timedelta(days=6), by="month")
    assert month.billable == Decimal("30.00")
    client.force_login(setup.pm)
    page = client.get(reverse("projects:utilization"), {"start": MONDAY.isoformat(), "end": "2027-01-17"})
    assert "75.0 %" in page.content.decode()
