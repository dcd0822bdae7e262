"""Races on one time entry on PostgreSQL where either side may win: the services lock (the consultant's row, the
entries in primary-key order) and re-check the status under the lock, so exactly one order takes effect and the
entry is what that order leaves — never half of each (an approved entry with a rejection reason, an edit that
lands after the week was submitted). Each race runs several rounds with the two sides started in turn first;
which side won each round is tallied and printed (`-s` shows it)."""

import datetime as dt
import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection

from projects.choices import EntryStatus
from projects.models import TimeEntry, Timesheet
from projects.services import time as ts
from psa.core.dates import week_start
from psa.core.exceptions import ConflictError
from psa.core.models import Event
from tests.projects.time_factories import MONDAY

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 12  # days from MONDAY: all before the rate card's change on 1 February


def _race(*fns):
    """Run each function in its own thread and connection, released together; what each returned or raised."""
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


def _race_in_turn(round_: int, first, second):
    """`_race` with the thread started first alternating by round, so neither side is favoured by start order."""
    if round_ % 2:
        b, a = _race(second, first)
        return a, b
    return _race(first, second)


def _draft(setup, consultant, day) -> TimeEntry:
    return ts.time_entry_put(by=consultant.user, consultant_id=consultant.pk, project_id=setup.project.pk,
                             task_id=None, day=day, hours="8")  # fmt: skip


def test_submitting_a_week_racing_an_edit_of_its_draft_submits_either_the_old_hours_or_the_edited_ones(setup, carl):
    wins = Counter()
    for round_ in range(ROUNDS):
        day = MONDAY + dt.timedelta(days=round_)
        entry = _draft(setup, carl, day)
        submitted, edited = _race_in_turn(
            round_,
            lambda d=day: ts.timesheet_submit(by=carl.user, consultant_id=carl.pk, week=d),
            lambda e=entry: ts.time_entry_update(by=carl.user, entry_id=e.pk, hours="3"),
        )
        assert submitted == 1, submitted  # either way the week had this one draft to submit
        entry.refresh_from_db()
        if isinstance(edited, Exception):  # the submit won: the edit found the entry locked
            assert isinstance(edited, ConflictError) and edited.code == "locked_after_submit", edited
            assert entry.hours == Decimal("8.00")
            wins["submit"] += 1
        else:  # the edit won: the submit that followed sent the edited hours
            assert edited.hours == Decimal("3.00")
            assert entry.hours == Decimal("3.00")
            wins["edit"] += 1
        assert entry.status == EntryStatus.SUBMITTED
        sheet = Timesheet.objects.get(consultant=carl, week_start=week_start(day))
        assert entry.submitted_at == sheet.submitted_at and entry.updated_at >= entry.submitted_at
    print(f"submit vs edit of a draft, {ROUNDS} rounds: {dict(wins)}")
    assert sum(wins.values()) == ROUNDS


def test_approving_racing_a_rejection_of_the_same_entry_lets_exactly_one_decide(setup, carl):
    wins = Counter()
    for round_ in range(ROUNDS):
        day = MONDAY + dt.timedelta(days=round_)
        entry = _draft(setup, carl, day)
        ts.timesheet_submit(by=carl.user, consultant_id=carl.pk, week=day)
        approved, rejected = _race_in_turn(
            round_,
            lambda e=entry: ts.time_entries_approve(by=setup.pm, entry_ids=[e.pk]),
            lambda e=entry: ts.time_entries_reject(by=setup.pm, entry_ids=[e.pk], reason="Split by task"),
        )
        refused = [o for o in (approved, rejected) if isinstance(o, Exception)]
        assert len(refused) == 1, (approved, rejected)  # exactly one decided
        assert isinstance(refused[0], ConflictError) and refused[0].code == "only_submitted", refused[0]
        entry.refresh_from_db()
        approval_events = Event.objects.filter(type="time.approved", data__entry_ids__contains=[entry.pk])
        if approved == 1:  # approved at the hours it was submitted with, rates copied, no reason
            assert (entry.status, entry.hours, entry.bill_rate, entry.rejection_reason) == (
                EntryStatus.APPROVED,
                Decimal("8.00"),
                Decimal("160.0000"),
                "",
            )
            assert entry.approved_at is not None and approval_events.count() == 1
            wins["approve"] += 1
        else:  # rejected with its reason, no rates, no approval announced
            assert rejected == 1
            assert (entry.status, entry.hours, entry.bill_rate, entry.approved_at, entry.rejection_reason) == (
                EntryStatus.REJECTED,
                Decimal("8.00"),
                None,
                None,
                "Split by task",
            )
            assert not approval_events.exists()
            wins["reject"] += 1
        assert entry.decided_by_id == setup.pm.pk
    print(f"approve vs reject, {ROUNDS} rounds: {dict(wins)}")
    assert TimeEntry.objects.filter(status=EntryStatus.APPROVED).count() == wins["approve"]
