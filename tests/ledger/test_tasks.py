"""Ledger jobs: thin, safe to run twice, scheduled by beat."""

from datetime import date

import pytest
from django.conf import settings

from ledger.models import AccountingPeriod, JournalEntry
from ledger.tasks import entries_auto_reverse_task, periods_ensure_task
from tests.ledger.factories import balanced, post

pytestmark = pytest.mark.django_db


def test_beat_runs_the_ledger_jobs():
    tasks = {job["task"] for job in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"ledger.tasks.periods_ensure_task", "ledger.tasks.entries_auto_reverse_task"} <= tasks


def test_periods_are_created_ahead_and_a_second_run_adds_nothing(db):
    assert periods_ensure_task() >= 3
    assert periods_ensure_task() == 0
    assert AccountingPeriod.objects.filter(start__gt=date.today()).count() >= 3


def test_due_reversals_post_once(periods):
    post(balanced("5.00", debit="6000", credit="2300", on=date(2026, 1, 31), auto_reverse_on=date(2026, 2, 1)))
    assert entries_auto_reverse_task() == 1
    assert entries_auto_reverse_task() == 0
    assert JournalEntry.objects.exclude(reverses=None).count() == 1
