"""Time capture and approval: every rule refused with its name, nothing partial saved, rates copied at
approval in set-based updates, one `time.approved` event per batch."""

import datetime as dt
from decimal import Decimal

import pytest

from projects.choices import EntryStatus
from projects.models import TaskTerms, TimeEntry, Timesheet
from projects.services import time as ts
from projects.services.time import EntrySpec
from psa.core.exceptions import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailed
from psa.core.models import Event
from tests.factories import UserFactory
from tests.projects.time_factories import MONDAY, consultant_on, won_project

pytestmark = pytest.mark.django_db


def put(consultant, project, day, hours, task=None, note=None):
    return ts.time_entry_put(
        by=consultant.user, consultant_id=consultant.pk, project_id=project.pk, task_id=task, day=day, hours=hours,
        note=note,
    )  # fmt: skip


def test_a_consultant_logs_changes_and_clears_a_cell(setup, carl):
    entry = put(carl, setup.project, MONDAY, "7.5", note="Workshop")
    assert (entry.hours, entry.note, entry.status) == (Decimal("7.5"), "Workshop", EntryStatus.DRAFT)
    put(carl, setup.project, MONDAY, "8")
    entry.refresh_from_db()
    assert entry.hours == Decimal("8.00") and entry.note == "Workshop"
    assert put(carl, setup.project, MONDAY, "0") is None
    assert not TimeEntry.objects.exists()


@pytest.mark.parametrize(
    ("hours", "rule"), [("-1", "hours_positive"), ("24.5", "hours_max_per_entry"), ("1.234", "hours_precision")]
)
def test_hours_out_of_range_are_refused_naming_the_rule(setup, carl, hours, rule):
    with pytest.raises(ValidationFailed) as exc:
        put(carl, setup.project, MONDAY, hours)
    assert exc.value.code == rule and f"rule: {rule}" in exc.value.message
    assert not TimeEntry.objects.exists()


def test_more_than_24_hours_a_day_across_tasks_is_refused(setup, carl):
    tasks = list(setup.project.tasks.all())
    put(carl, setup.project, MONDAY, "20", task=tasks[0].pk)
    with pytest.raises(ValidationFailed, match="hours_max_per_day"):
        put(carl, setup.project, MONDAY, "5", task=tasks[1].pk)
    assert TimeEntry.objects.count() == 1


def test_time_on_a_project_without_allocation_is_refused(setup):
    other = won_project(pm=setup.pm)
    carl = consultant_on(setup)
    with pytest.raises(ValidationFailed, match="allocated"):
        put(carl, other.project, MONDAY, "4")


def test_time_outside_the_project_dates_is_refused(setup, carl):
    with pytest.raises(ValidationFailed, match="inside_project_dates"):
        put(carl, setup.project, dt.date(2026, 12, 28), "4")


def test_time_on_a_closed_project_is_refused(setup, carl):
    type(setup.project).objects.filter(pk=setup.project.pk).update(status="completed")
    with pytest.raises(ValidationFailed, match="project_open"):
        put(carl, setup.project, MONDAY, "4")


def test_a_task_of_another_project_is_refused(setup, carl):
    other = won_project(pm=setup.pm)
    with pytest.raises(ValidationFailed, match="task_of_project"):
        put(carl, setup.project, MONDAY, "4", task=other.project.tasks.first().pk)


def test_a_consultant_cannot_write_someone_elses_time(setup, carl):
    bob = consultant_on(setup)
    with pytest.raises(NotFoundError):
        ts.time_entry_put(by=bob.user, consultant_id=carl.pk, project_id=setup.project.pk, task_id=None,
                          day=MONDAY, hours="4")  # fmt: skip


def test_a_bulk_create_with_one_bad_entry_saves_nothing_and_names_the_index(setup, carl):
    specs = [EntrySpec(carl.pk, setup.project.pk, None, MONDAY + dt.timedelta(days=i), Decimal("8")) for i in range(3)]
    specs.append(EntrySpec(carl.pk, setup.project.pk, None, MONDAY + dt.timedelta(days=4), Decimal("25")))
    with pytest.raises(ValidationFailed) as exc:
        ts.time_entries_bulk_create(by=carl.user, specs=specs)
    assert "entries[3].hours" in exc.value.fields
    assert not TimeEntry.objects.exists()
    assert ts.time_entries_bulk_create(by=carl.user, specs=specs[:3]) == 3


FIELDS = ("consultant_id", "project_id", "task_id", "date", "hours", "note", "status", "rejection_reason", "billable",
          "source_key", "bill_rate", "cost_rate", "contract_line_id", "approved_at")  # fmt: skip


@pytest.mark.postgres
def test_a_large_bulk_create_streams_with_copy_the_same_rows_bulk_create_writes(setup, carl, monkeypatch):
    specs = [EntrySpec(carl.pk, setup.project.pk, None, MONDAY + dt.timedelta(days=i), Decimal("8"), note=f"n{i}",
                       source_key=f"k{i}") for i in range(3)]  # fmt: skip
    assert ts.time_entries_bulk_create(by=carl.user, specs=specs) == 3  # bulk_create
    by_orm = list(TimeEntry.objects.order_by("date").values_list(*FIELDS))
    TimeEntry.objects.all().delete()
    monkeypatch.setattr(ts, "COPY_THRESHOLD", 1)
    assert ts.time_entries_bulk_create(by=carl.user, specs=specs) == 3  # projects.sql.time_entries_copy
    assert list(TimeEntry.objects.order_by("date").values_list(*FIELDS)) == by_orm


def test_submit_locks_the_week_and_records_the_timesheet(setup, carl):
    put(carl, setup.project, MONDAY, "8")
    put(carl, setup.project, MONDAY + dt.timedelta(days=1), "6")
    assert ts.timesheet_submit(by=carl.user, consultant_id=carl.pk, week=MONDAY + dt.timedelta(days=3)) == 2
    assert Timesheet.objects.get(consultant=carl).week_start == MONDAY
    with pytest.raises(ConflictError, match="locked_after_submit"):
        put(carl, setup.project, MONDAY, "2")
    with pytest.raises(ValidationFailed, match="week_has_drafts"):
        ts.timesheet_submit(by=carl.user, consultant_id=carl.pk, week=MONDAY)


def _submitted(setup, carl, days=2, task=None):
    for i in range(days):
        put(carl, setup.project, MONDAY + dt.timedelta(days=i), "8", task=task)
    ts.timesheet_submit(by=carl.user, consultant_id=carl.pk, week=MONDAY)
    return list(TimeEntry.objects.filter(consultant=carl).order_by("pk").values_list("pk", flat=True))


def test_approval_copies_bill_rate_card_line_cost_rate_and_billable(setup, carl):
    ids = _submitted(setup, carl)
    assert ts.time_entries_approve(by=setup.pm, entry_ids=ids) == 2
    entry = TimeEntry.objects.select_related("rate_card_line", "contract_line").get(pk=ids[0])
    assert entry.status == EntryStatus.APPROVED and entry.approved_at is not None
    assert entry.contract_line.billing_model == "tm"
    assert entry.rate_card_line.rate == Decimal("160.0000") and entry.bill_rate == Decimal("160.0000")
    assert entry.cost_rate == Decimal("70.0000") and entry.billable is True
    with pytest.raises(ConflictError):
        put(carl, setup.project, MONDAY, "1")


def test_the_rate_in_force_on_the_entry_date_is_used(setup, carl):
    day = dt.date(2027, 2, 1)
    put(carl, setup.project, day, "4")
    ts.timesheet_submit(by=carl.user, consultant_id=carl.pk, week=day)
    ts.time_entries_approve(by=setup.pm, entry_ids=[TimeEntry.objects.get().pk])
    assert TimeEntry.objects.get().bill_rate == Decimal("170.0000")


def test_time_on_a_non_billable_task_is_not_billable(setup, carl):
    task = setup.project.tasks.first()
    TaskTerms.objects.create(task=task, billable=False)
    ids = _submitted(setup, carl, days=1, task=task.pk)
    ts.time_entries_approve(by=setup.pm, entry_ids=ids)
    assert TimeEntry.objects.get().billable is False


def test_approval_emits_one_time_approved_event_per_batch(setup, carl):
    ids = _submitted(setup, carl, days=3)
    ts.time_entries_approve(by=setup.pm, entry_ids=ids)
    event = Event.objects.get(type="time.approved")
    assert event.data["entry_ids"] == ids and event.data["hours"] == "24.00"


def test_only_the_projects_pm_approves(setup, carl):
    ids = _submitted(setup, carl)
    for who in (UserFactory(roles=["project_manager"]), carl.user):
        with pytest.raises(PermissionDeniedError, match="project_manager"):
            ts.time_entries_approve(by=who, entry_ids=ids)
    assert set(TimeEntry.objects.values_list("status", flat=True)) == {EntryStatus.SUBMITTED}


def test_a_batch_with_a_draft_entry_approves_nothing(setup, carl):
    ids = _submitted(setup, carl)
    draft = put(carl, setup.project, MONDAY + dt.timedelta(days=4), "3")
    with pytest.raises(ConflictError, match="only_submitted"):
        ts.time_entries_approve(by=setup.pm, entry_ids=[*ids, draft.pk])
    assert not TimeEntry.objects.filter(status=EntryStatus.APPROVED).exists()


def test_reject_needs_a_reason_and_returns_the_entries_for_editing(setup, carl):
    ids = _submitted(setup, carl)
    with pytest.raises(ValidationFailed, match="reason_required"):
        ts.time_entries_reject(by=setup.pm, entry_ids=ids, reason=" ")
    ts.time_entries_reject(by=setup.pm, entry_ids=ids, reason="Wrong task")
    entry = TimeEntry.objects.get(pk=ids[0])
    assert entry.status == EntryStatus.REJECTED and entry.rejection_reason == "Wrong task"
    put(carl, setup.project, MONDAY, "7")
    entry.refresh_from_db()
    assert entry.status == EntryStatus.DRAFT and entry.hours == Decimal("7.00")
    assert ts.timesheet_submit(by=carl.user, consultant_id=carl.pk, week=MONDAY) == 2
    assert TimeEntry.objects.get(pk=ids[0]).rejection_reason == ""


def test_copy_last_week_fills_this_weeks_empty_cells(setup, carl):
    put(carl, setup.project, MONDAY, "8", note="x")
    put(carl, setup.project, MONDAY + dt.timedelta(days=1), "6")
    nxt = MONDAY + dt.timedelta(days=7)
    put(carl, setup.project, nxt, "2")
    assert ts.timesheet_copy_last_week(by=carl.user, consultant_id=carl.pk, week=nxt).filled == 1
    assert TimeEntry.objects.get(date=nxt).hours == Decimal("2.00")
    assert TimeEntry.objects.get(date=nxt + dt.timedelta(days=1)).note == ""


def test_copy_last_week_into_a_half_filled_week_never_adds_onto_typed_hours(setup, carl):
    """Last week 5 x 8 h on the project's general row; this week 33.5 h already typed on a task. Copying fills
    only the days nobody typed on, reports what it filled and skipped, and no day grows."""
    task = setup.project.tasks.first().pk
    last = MONDAY - dt.timedelta(days=7)
    for i in range(5):
        put(carl, setup.project, last + dt.timedelta(days=i), "8")
    for i, h in enumerate(["8", "8", "8", "8", "1.5"]):
        put(carl, setup.project, MONDAY + dt.timedelta(days=i), h, task=task)
    result = ts.timesheet_copy_last_week(by=carl.user, consultant_id=carl.pk, week=MONDAY)
    assert (result.filled, result.skipped) == (0, 5)
    assert (setup.project.pk, None) in result.rows
    week = TimeEntry.objects.filter(date__gte=MONDAY, date__lt=MONDAY + dt.timedelta(days=7))
    assert sum(e.hours for e in week) == Decimal("33.50")
    # a week typed Monday to Wednesday: Thursday and Friday are filled, nothing doubles
    week.filter(date__gte=MONDAY + dt.timedelta(days=3)).delete()
    result = ts.timesheet_copy_last_week(by=carl.user, consultant_id=carl.pk, week=MONDAY)
    assert (result.filled, result.skipped) == (2, 3)
    per_day = {}
    for e in week.all():
        per_day[e.date] = per_day.get(e.date, Decimal("0")) + e.hours
    assert max(per_day.values()) == Decimal("8.00") and sum(per_day.values()) == Decimal("40.00")
