"""Concurrent approve and edit of one entry on PostgreSQL: row locks in primary-key order and a status
re-check under the lock leave the entry consistent — approved with the hours it was approved at and rates
copied, or edited and not approved; never an approved entry whose hours changed after the rates were set."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from projects.choices import EntryStatus
from projects.models import TimeEntry
from projects.services import time as ts
from psa.core.exceptions import ConflictError
from tests.projects.time_factories import MONDAY, consultant_on, won_project

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _race(*fns):
    barrier = threading.Barrier(len(fns))
    outcomes: list = [None] * len(fns)

    def run(i, fn):
        try:
            barrier.wait(timeout=10)
            outcomes[i] = fn()
        except Exception as exc:  # collected and asserted by the caller
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def test_approve_racing_an_edit_of_a_submitted_entry_keeps_it_consistent():
    setup = won_project()
    carl = consultant_on(setup)
    for round_ in range(5):
        day = MONDAY + dt.timedelta(days=round_)
        entry = ts.time_entry_put(by=carl.user, consultant_id=carl.pk, project_id=setup.project.pk, task_id=None,
                                  day=day, hours="8")  # fmt: skip
        ts.timesheet_submit(by=carl.user, consultant_id=carl.pk, week=day)
        approved, edited = _race(
            lambda e=entry: ts.time_entries_approve(by=setup.pm, entry_ids=[e.pk]),
            lambda e=entry: ts.time_entry_update(by=carl.user, entry_id=e.pk, hours="3"),
        )
        assert approved == 1
        assert isinstance(edited, ConflictError) and edited.code == "locked_after_submit"
        entry.refresh_from_db()
        assert (entry.status, entry.hours, entry.bill_rate) == (
            EntryStatus.APPROVED,
            Decimal("8.00"),
            Decimal("160.0000"),
        )


def test_an_edit_of_a_rejected_entry_racing_an_approval_is_either_edited_or_approved_never_both():
    setup = won_project()
    carl = consultant_on(setup)
    entry = ts.time_entry_put(by=carl.user, consultant_id=carl.pk, project_id=setup.project.pk, task_id=None,
                              day=MONDAY, hours="8")  # fmt: skip
    ts.timesheet_submit(by=carl.user, consultant_id=carl.pk, week=MONDAY)
    ts.time_entries_reject(by=setup.pm, entry_ids=[entry.pk], reason="Split by task")
    approved, edited = _race(
        lambda: ts.time_entries_approve(by=setup.pm, entry_ids=[entry.pk]),
        lambda: ts.time_entry_update(by=carl.user, entry_id=entry.pk, hours="5"),
    )
    assert isinstance(approved, ConflictError) and approved.code == "only_submitted"
    entry.refresh_from_db()
    assert (entry.status, entry.hours, entry.bill_rate, entry.approved_at) == (
        EntryStatus.DRAFT,
        Decimal("5.00"),
        None,
        None,
    )
    assert not isinstance(edited, Exception)
    assert TimeEntry.objects.filter(status=EntryStatus.APPROVED).count() == 0
