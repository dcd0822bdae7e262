"""Time entries partitioned by month (issue 24, projects migration 0016): a timesheet cell stays one row (also
under a race), a changed date moves the row to its month's partition, a month's report reads only that month's
partition, and the beat job creates months ahead."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum

from projects.models import TimeEntry
from projects.services.partitions import time_partitions_ensure
from projects.tasks import time_partitions_ensure_task
from psa.core.partitions import is_partitioned
from tests.partition_checks import partition_of, partitions, partitions_read, primary_key
from tests.projects.time_factories import MONDAY

TABLE = "projects_timeentry"


def _entry(setup, consultant, day: dt.date, hours: str = "8") -> TimeEntry:
    return TimeEntry.objects.create(consultant=consultant, project=setup.project, date=day, hours=Decimal(hours))


@pytest.mark.postgres
@pytest.mark.django_db
def test_time_entries_are_partitioned_by_month_with_a_default_and_the_primary_key_holds_the_date():
    assert is_partitioned(connection, TABLE)
    assert primary_key(TABLE) == "PRIMARY KEY (id, date)"
    assert partitions(TABLE)[f"{TABLE}_pdefault"] == "DEFAULT"


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_cell_is_one_row_in_a_month_partition(setup, carl):
    time_partitions_ensure(today=MONDAY, ahead=0)
    first = _entry(setup, carl, MONDAY)
    assert partition_of(TABLE, first.pk) == f"{TABLE}_p202701"
    duplicate = pytest.raises(IntegrityError, match=r"(?s)duplicate key .*\(consultant_id, project_id, date\)")
    with duplicate, transaction.atomic():
        _entry(setup, carl, MONDAY, "2")


@pytest.mark.postgres
@pytest.mark.django_db
def test_save_and_bulk_update_move_an_entry_to_its_new_months_partition(setup, carl):
    time_partitions_ensure(today=MONDAY, ahead=1)
    entry = _entry(setup, carl, MONDAY)
    other = _entry(setup, carl, MONDAY + dt.timedelta(days=1))
    entry.date = dt.date(2027, 2, 15)
    entry.save()
    assert partition_of(TABLE, entry.pk) == f"{TABLE}_p202702"
    other.date = dt.date(2035, 7, 1)  # no month partition that far ahead: the DEFAULT partition takes it
    TimeEntry.objects.bulk_update([other], ["date"])
    assert partition_of(TABLE, other.pk) == f"{TABLE}_pdefault"
    assert TimeEntry.objects.get(pk=entry.pk).date == dt.date(2027, 2, 15)
    assert TimeEntry.objects.filter(pk__in=[entry.pk, other.pk]).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_months_time_report_reads_only_that_months_partition(setup, carl):
    time_partitions_ensure(today=dt.date(2026, 12, 1), ahead=3)
    for day in (dt.date(2026, 12, 14), MONDAY, dt.date(2027, 2, 8), dt.date(2027, 3, 8)):
        _entry(setup, carl, day)

    def report():
        return list(
            TimeEntry.objects.filter(date__gte=dt.date(2027, 2, 1), date__lt=dt.date(2027, 3, 1))
            .values("project_id", "consultant_id")
            .annotate(hours=Sum("hours"))
        )

    assert partitions_read(TABLE, report) == {f"{TABLE}_p202702"}
    assert report() == [{"project_id": setup.project.pk, "consultant_id": carl.pk, "hours": Decimal("8.00")}]


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_beat_job_creates_this_month_and_three_ahead_once_and_moves_default_rows(setup, carl):
    stray = _entry(setup, carl, dt.date(2032, 2, 3))
    assert partition_of(TABLE, stray.pk) == f"{TABLE}_pdefault"
    with connection.cursor() as cursor:  # the deferred foreign-key checks now: a table with pending ones can't change
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    created = time_partitions_ensure(today=dt.date(2032, 1, 20))
    assert created == [f"{TABLE}_p2032{m:02d}" for m in (1, 2, 3, 4)]
    assert partition_of(TABLE, stray.pk) == f"{TABLE}_p203202"
    assert time_partitions_ensure(today=dt.date(2032, 1, 31)) == []
    assert time_partitions_ensure_task() == 0  # the migration made today's months
    assert settings.CELERY_BEAT_SCHEDULE["projects-time-partitions"]["task"] == (
        "projects.tasks.time_partitions_ensure_task"
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_inserts_of_one_cell_leave_one_row(setup, carl):
    """The cell's unique index holds the date, so both rows meet in one partition and the second waits for the
    first and is refused: no duplicate cell under a race (nothing in the service's lock is needed for it)."""
    time_partitions_ensure(today=MONDAY, ahead=0)
    barrier = threading.Barrier(2)
    outcomes: list = [None, None]

    def insert(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            with transaction.atomic():
                outcomes[i] = _entry(setup, carl, MONDAY, str(i + 1))
        except Exception as exc:  # collected and asserted below
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=insert, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(type(o).__name__ for o in outcomes) == ["IntegrityError", "TimeEntry"]
    assert TimeEntry.objects.filter(consultant=carl, date=MONDAY, task=None).count() == 1
