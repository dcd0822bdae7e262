"""Capacity-aware staffing: suggestions within free time, over-bookings confirmed and recorded, resource
requests consumed by the allocations made from them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from projects.choices import ResourceRequestStatus
from projects.models import Allocation, ResourceRequest
from projects.selectors import request_remaining, staffing_suggestions
from projects.services import staffing
from psa.core.exceptions import ConflictError
from tests.factories import UserFactory
from tests.projects.time_factories import MONDAY

pytestmark = pytest.mark.django_db

TWO_WEEKS = (MONDAY, MONDAY + dt.timedelta(days=11))  # ten weekdays


def _consultant(setup, *, booked=None):
    user = UserFactory(roles=["consultant"])
    c = staffing.consultant_create(by=setup.admin, user=user, role=setup.role)
    if booked:
        staffing.allocation_create(
            by=setup.admin, project_id=setup.project.pk, consultant_id=c.pk, hours_per_week=booked,
            start_date=TWO_WEEKS[0], end_date=TWO_WEEKS[1], kind="hard", confirm_overbooking=True,
        )  # fmt: skip
    return c


def _request(setup, hours):
    return ResourceRequest.objects.create(
        project=setup.project, role=setup.role, hours=Decimal(hours), start_date=TWO_WEEKS[0], end_date=TWO_WEEKS[1]
    )


def test_suggestions_never_exceed_free_time(client, setup):
    rr = _request(setup, "200")  # 100 h a week wanted
    idle, half, full, over = (_consultant(setup, booked=b) for b in (None, Decimal("20"), Decimal("40"), Decimal("50")))
    suggestions = staffing_suggestions(request_id=rr.pk)
    for s in suggestions:
        assert s.suggested * s.weeks <= max(Decimal("0"), s.free)
    by = {s.consultant.pk: s for s in suggestions}
    assert [by[c.pk].suggested for c in (idle, half, full, over)] == [Decimal("40"), Decimal("20"), 0, 0]
    assert (by[full.pk].free, by[over.pk].free) == (Decimal("0.00"), Decimal("-20.00"))
    assert [s.consultant.pk for s in suggestions][:2] == [idle.pk, half.pk]  # best fit first
    client.force_login(setup.pm)
    page = client.get(reverse("projects:staffing"), {"request": rr.pk}).content.decode()
    assert "-20.00" in page


def test_an_overbooking_needs_confirmation(client, setup):
    carl = _consultant(setup, booked=Decimal("40"))
    args = {"by": setup.pm, "project_id": setup.project.pk, "consultant_id": carl.pk, "hours_per_week": "10",
            "start_date": TWO_WEEKS[0], "end_date": TWO_WEEKS[1], "kind": "soft"}  # fmt: skip
    with pytest.raises(ConflictError, match="over-book") as refused:
        staffing.allocation_create(**args)
    assert refused.value.code == "overbooking" and Allocation.objects.filter(consultant=carl).count() == 1
    allocation = staffing.allocation_create(**args, confirm_overbooking=True)
    assert allocation.overbooked
    assert not Allocation.objects.get(consultant=carl, hours_per_week=40).overbooked
    # the page asks, then books on confirm
    client.force_login(setup.pm)
    form = {"consultant": carl.pk, "project": setup.project.pk, "hours_per_week": "5", "kind": "soft",
            "start": TWO_WEEKS[0].isoformat(), "end": TWO_WEEKS[1].isoformat()}  # fmt: skip
    page = client.post(reverse("projects:allocate"), form)
    assert page.status_code == 200 and 'name="confirm_overbooking"' in page.content.decode()
    assert Allocation.objects.filter(consultant=carl).count() == 2
    client.post(reverse("projects:allocate"), {**form, "confirm_overbooking": "1"})
    assert Allocation.objects.filter(consultant=carl, overbooked=True).count() == 2
    # the API takes the flag
    api = {"project": setup.project.pk, "consultant": carl.pk, "hours_per_week": "5", "kind": "soft",
           "start_date": TWO_WEEKS[0].isoformat(), "end_date": TWO_WEEKS[1].isoformat()}  # fmt: skip
    url = reverse("api-projects-allocation-list")
    assert client.post(url, api, content_type="application/json").status_code == 409
    made = client.post(url, {**api, "confirm_overbooking": True}, content_type="application/json")
    assert made.status_code == 201 and made.json()["overbooked"] is True


def test_a_requests_remaining_hours_fall_as_it_is_staffed(client, setup):
    rr = _request(setup, "80")
    assert request_remaining([rr.pk]) == {rr.pk: Decimal("80.00")}
    ann, bob = _consultant(setup), _consultant(setup)
    staffing.allocation_create(
        by=setup.pm, project_id=setup.project.pk, consultant_id=ann.pk, hours_per_week="20",
        start_date=TWO_WEEKS[0], end_date=TWO_WEEKS[1], kind="soft", resource_request_id=rr.pk,
    )  # fmt: skip
    rr.refresh_from_db()
    assert request_remaining([rr.pk]) == {rr.pk: Decimal("40.00")} and rr.status == ResourceRequestStatus.OPEN
    client.force_login(setup.pm)
    assert "40.00 h left" in client.get(reverse("projects:staffing")).content.decode()
    project_page = client.get(reverse("projects:project", args=[setup.project.pk])).content.decode()
    assert '<td class="num" data-testid="request-remaining">40.00</td>' in project_page
    staffing.allocation_create(
        by=setup.pm, project_id=setup.project.pk, consultant_id=bob.pk, hours_per_week="20",
        start_date=TWO_WEEKS[0], end_date=TWO_WEEKS[1], kind="soft", resource_request_id=rr.pk,
    )  # fmt: skip
    rr.refresh_from_db()
    assert request_remaining([rr.pk]) == {rr.pk: Decimal("0.00")} and rr.status == ResourceRequestStatus.FILLED
