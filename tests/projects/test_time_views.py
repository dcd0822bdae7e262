"""Time pages: the grid saves cell by cell, refusals show the rule, queries stay constant at two sizes, and
one consultant never reaches another's time or expenses."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from projects.choices import EntryStatus
from projects.models import TimeEntry
from projects.services import expenses as ex
from projects.services import time as ts
from projects.views import time as time_views
from tests.projects.time_factories import MONDAY, consultant_on, won_project
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def _fill(consultant, setup, weeks: int):
    specs = [
        ts.EntrySpec(consultant.pk, setup.project.pk, task.pk, MONDAY + dt.timedelta(days=7 * w + d), Decimal("1"))
        for w in range(weeks)
        for d in range(5)
        for task in setup.project.tasks.all()
    ]
    ts.time_entries_bulk_create(by=consultant.user, specs=specs)


def test_the_week_page_shows_the_allocated_project(client, setup, carl):
    client.force_login(carl.user)
    page = client.get(reverse("projects:timesheet"), {"week": MONDAY.isoformat()})
    assert page.status_code == 200
    assert setup.project.code in page.content.decode()


def test_a_cell_saves_and_returns_the_totals(client, setup, carl):
    client.force_login(carl.user)
    data = {"project": setup.project.pk, "task": "", "date": MONDAY.isoformat(), "hours": "7:30", "note": "Kick-off"}
    response = client.post(reverse("projects:timesheet-cell"), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="wt"' in body and "7.50" in body and "cell-error" not in body
    entry = TimeEntry.objects.get()
    assert (entry.hours, entry.note) == (Decimal("7.50"), "Kick-off")


def test_a_refused_cell_says_why_and_saves_nothing(client, setup, carl):
    client.force_login(carl.user)
    data = {"project": setup.project.pk, "task": "", "date": MONDAY.isoformat(), "hours": "25"}
    body = client.post(reverse("projects:timesheet-cell"), data).content.decode()
    assert 'data-testid="cell-error"' in body and "24" in body and not TimeEntry.objects.exists()
    body = client.post(reverse("projects:timesheet-cell"), {**data, "hours": "abc"}).content.decode()
    assert "abc&#x27; is not a number of hours" in body


def test_submit_and_the_approval_queue(client, setup, carl):
    ts.time_entry_put(by=carl.user, consultant_id=carl.pk, project_id=setup.project.pk, task_id=None, day=MONDAY,
                      hours="8")  # fmt: skip
    client.force_login(carl.user)
    client.post(reverse("projects:timesheet-submit"), {"week": MONDAY.isoformat()})
    entry = TimeEntry.objects.get()
    assert entry.status == EntryStatus.SUBMITTED
    client.force_login(setup.pm)
    page = client.get(reverse("projects:approvals")).content.decode()
    assert str(carl.user.get_full_name()) in page
    client.post(reverse("projects:approvals-decide", args=["time"]), {"action": "approve", "ids": [entry.pk]})
    entry.refresh_from_db()
    assert entry.status == EntryStatus.APPROVED


def test_the_queue_groups_by_consultant_and_week_flags_anomalies_and_ticks_nothing(client, setup, carl):
    put = dict(by=carl.user, consultant_id=carl.pk, project_id=setup.project.pk, task_id=None)
    ts.time_entry_put(**put, day=MONDAY, hours="11.5")  # above the 10 h a day warning
    for d in range(1, 5):
        ts.time_entry_put(**put, day=MONDAY + dt.timedelta(days=d), hours="8")
    ts.time_entry_put(**put, day=MONDAY + dt.timedelta(days=5), hours="2")  # a Saturday
    ts.timesheet_submit(by=carl.user, consultant_id=carl.pk, week=MONDAY)
    client.force_login(setup.pm)
    response = client.get(reverse("projects:approvals"))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count('data-testid="approval-group"') == 1
    assert f"11.50 h on {MONDAY:%a %-d %b} (above 10 h a day)" in page
    assert "45.50 h this week against 40.00 h of capacity" in page
    assert "Weekend work: Sat" in page
    assert " checked" not in page.split('data-testid="queue-count"')[1]
    (group,) = response.context["groups"]
    assert group.long_days == {MONDAY}  # the long day's row is highlighted, no other
    assert page.count('data-testid="long-day"') == 1


def test_a_whole_week_is_approved_or_rejected_with_a_reason(client, setup, carl):
    _fill(carl, setup, 2)
    for w in range(2):
        ts.timesheet_submit(by=carl.user, consultant_id=carl.pk, week=MONDAY + dt.timedelta(days=7 * w))
    first = list(TimeEntry.objects.filter(date__lt=MONDAY + dt.timedelta(days=7)).values_list("pk", flat=True))
    second = list(TimeEntry.objects.filter(date__gte=MONDAY + dt.timedelta(days=7)).values_list("pk", flat=True))
    client.force_login(setup.pm)
    url = reverse("projects:approvals-decide", args=["time"])
    client.post(url, {"action": "reject_week", "week_ids": second, "reason": ""})
    assert set(TimeEntry.objects.filter(pk__in=second).values_list("status", flat=True)) == {EntryStatus.SUBMITTED}
    client.post(url, {"action": "reject_week", "week_ids": second, "reason": "Wrong project"})
    assert set(TimeEntry.objects.filter(pk__in=second).values_list("status", flat=True)) == {EntryStatus.REJECTED}
    client.post(url, {"action": "approve_week", "week_ids": first, "ids": first[:1]})
    assert set(TimeEntry.objects.filter(pk__in=first).values_list("status", flat=True)) == {EntryStatus.APPROVED}
    response = client.post(url, {"action": "approve"}, follow=True)
    assert "Tick the entries to decide" in response.content.decode()


def test_submitting_warns_on_a_long_day_and_a_week_over_capacity_and_still_submits(client, setup, carl):
    put = dict(by=carl.user, consultant_id=carl.pk, project_id=setup.project.pk, task_id=None)
    ts.time_entry_put(**put, day=MONDAY, hours="12")
    for d in range(1, 5):
        ts.time_entry_put(**put, day=MONDAY + dt.timedelta(days=d), hours="8")
    client.force_login(carl.user)
    response = client.post(reverse("projects:timesheet-submit"), {"week": MONDAY.isoformat()}, follow=True)
    page = response.content.decode()
    assert f"Please check: 12.00 h on {MONDAY:%a %-d %b} (above 10 h a day)" in page
    assert "44.00 h this week against 40.00 h of capacity" in page
    assert set(TimeEntry.objects.values_list("status", flat=True)) == {EntryStatus.SUBMITTED}


def test_the_queue_filters_by_project_and_person_and_flags_an_unusual_week_and_dates_outside_the_project(
    client, setup, carl
):
    bob = consultant_on(setup)
    put = dict(by=carl.user, consultant_id=carl.pk, project_id=setup.project.pk, task_id=None)
    for w in range(1, 2):  # a usual week of 10 h before (the project starts the week before)
        day = MONDAY - dt.timedelta(weeks=w)
        ts.time_entry_put(**put, day=day, hours="10")
        ts.timesheet_submit(by=carl.user, consultant_id=carl.pk, week=day)
    ts.time_entries_approve(by=setup.pm, entry_ids=list(TimeEntry.objects.values_list("pk", flat=True)))
    for d in range(3):
        ts.time_entry_put(**put, day=MONDAY + dt.timedelta(days=d), hours="8")
    ts.timesheet_submit(by=carl.user, consultant_id=carl.pk, week=MONDAY)
    ts.time_entry_put(
        by=bob.user, consultant_id=bob.pk, project_id=setup.project.pk, task_id=None, day=MONDAY, hours="4"
    )
    ts.timesheet_submit(by=bob.user, consultant_id=bob.pk, week=MONDAY)
    type(setup.project).objects.filter(pk=setup.project.pk).update(end_date=MONDAY)
    client.force_login(setup.pm)
    page = client.get(reverse("projects:approvals")).content.decode()
    assert page.count('data-testid="approval-group"') == 2
    assert "Far above the usual week (24.00 h against 10.00 h)" in page
    tuesday = MONDAY + dt.timedelta(days=1)
    assert f"Outside the project&#x27;s dates: {setup.project.code} on {tuesday:%a %-d %b}" in page
    only_bob = client.get(reverse("projects:approvals"), {"consultant": bob.pk}).content.decode()
    assert only_bob.count('data-testid="approval-group"') == 1 and "4.00 h here" in only_bob
    other = client.get(reverse("projects:approvals"), {"project": 999999})
    assert other.status_code == 200 and 'data-testid="approval-group"' not in other.content.decode()


def test_the_week_page_uses_the_same_queries_at_two_sizes(client, setup, carl):
    client.force_login(carl.user)
    url = reverse("projects:timesheet")
    _fill(carl, setup, 1)
    small, _ = count_queries(lambda: client.get(url, {"week": MONDAY.isoformat()}))
    TimeEntry.objects.all().delete()
    other = won_project(pm=setup.pm)
    _fill(carl, setup, 1)
    from projects.services import staffing

    staffing.allocation_create(
        by=setup.admin, project_id=other.project.pk, consultant_id=carl.pk, hours_per_week="8",
        start_date=MONDAY, end_date=MONDAY + dt.timedelta(days=6), confirm_overbooking=True,
    )  # fmt: skip
    _fill(carl, other, 1)
    large, _ = count_queries(lambda: client.get(url, {"week": MONDAY.isoformat()}))
    assert TimeEntry.objects.count() == 30
    print(f"timesheet week page: {small} queries at 15 entries (1 project), {large} at 30 entries (2 projects)")
    assert small == large


def test_the_approval_queue_uses_the_same_queries_at_two_sizes(client, setup, carl):
    client.force_login(setup.pm)
    url = reverse("projects:approvals")
    _fill(carl, setup, 1)
    ts.timesheet_submit(by=carl.user, consultant_id=carl.pk, week=MONDAY)
    small, _ = count_queries(lambda: client.get(url))
    bob = consultant_on(setup)
    _fill(bob, setup, 3)
    for w in range(3):
        ts.timesheet_submit(by=bob.user, consultant_id=bob.pk, week=MONDAY + dt.timedelta(days=7 * w))
    large, _ = count_queries(lambda: client.get(url))
    print(f"approval queue: {small} queries at 15 submitted entries, {large} at 60")
    assert small == large


def test_consultant_b_cannot_see_or_change_as_time_or_expenses(client, setup, carl):
    entry = ts.time_entry_put(by=carl.user, consultant_id=carl.pk, project_id=setup.project.pk, task_id=None,
                              day=MONDAY, hours="8")  # fmt: skip
    expense = ex.expense_create(
        by=carl.user, consultant_id=carl.pk, project_id=setup.project.pk, day=MONDAY, category="travel",
        amount="80", currency="EUR", receipt=SimpleUploadedFile("r.pdf", b"%PDF-1.4 x"),
    )  # fmt: skip
    bob = consultant_on(setup)
    client.force_login(bob.user)
    page = client.get(reverse("projects:timesheet"), {"week": MONDAY.isoformat()}).content.decode()
    assert "8.00" not in page
    assert client.get(reverse("stored-file", args=["expense-receipt", expense.pk])).status_code == 404
    assert "r.pdf" not in client.get(reverse("projects:expenses")).content.decode()
    # Bob's cell post writes Bob's own entry; Carl's stays as it was.
    client.post(reverse("projects:timesheet-cell"),
                {"project": setup.project.pk, "task": "", "date": MONDAY.isoformat(), "hours": "1"})  # fmt: skip
    entry.refresh_from_db()
    assert entry.hours == Decimal("8.00")
    assert client.get(reverse("projects:approvals")).status_code == 403
    client.post(reverse("projects:expenses"), {"action": "submit", "ids": [expense.pk]})
    expense.refresh_from_db()
    assert expense.status == EntryStatus.DRAFT


def test_the_approval_queue_shows_a_readable_page_of_the_oldest_entries_and_says_more_wait(
    client, setup, carl, monkeypatch
):
    assert time_views.QUEUE_LIMIT <= 100  # 500 rows a page took seconds to render under load (issue 24)
    monkeypatch.setattr(time_views, "QUEUE_LIMIT", 4)
    _fill(carl, setup, 1)
    ts.timesheet_submit(by=carl.user, consultant_id=carl.pk, week=MONDAY)
    client.force_login(setup.pm)
    response = client.get(reverse("projects:approvals"))
    assert response.status_code == 200
    assert response.context["entry_count"] == 4 and response.context["more"]
    assert "Showing the oldest 4 entries" in response.content.decode()
