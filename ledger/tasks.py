"""Ledger jobs: create periods ahead and post due automatic reversals (beat), recognition, revaluation and
intercompany recharge runs, labour cost runs.
Thin: each calls one service."""

from datetime import timedelta

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from ledger.services import entries_auto_reverse_due, periods_ensure
from ledger.services.budget_alerts import budget_alerts_check
from ledger.services.cost_posting import cost_posting_execute
from ledger.services.intercompany import recharge_execute
from ledger.services.partitions import line_partitions_ensure
from ledger.services.revaluation import revaluation_execute
from ledger.services.revenue import recognition_month_end, recognition_run_execute

RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": True, "max_retries": 5}
MONTHS_AHEAD_DAYS = 92  # about three months of open periods ahead of today


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY)
def periods_ensure_task() -> int:
    today = timezone.localdate()
    return len(periods_ensure(start=today, through=today + timedelta(days=MONTHS_AHEAD_DAYS)))


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY)
def line_partitions_ensure_task() -> int:
    return len(line_partitions_ensure(today=timezone.localdate()))


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY)
def entries_auto_reverse_task() -> int:
    return entries_auto_reverse_due(today=timezone.localdate())


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY)
def budget_alerts_check_task() -> int:
    """Beat, every five minutes: raise and clear burn alerts; returns how many were raised."""
    return len(budget_alerts_check().raised)


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY)
def recognition_run_task(*, run_id: int) -> None:
    recognition_run_execute(run_id=run_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY)
def recognition_month_end_task() -> int | None:
    """Beat, 1st of each month: recognise the month just ended (its run is enqueued after commit)."""
    run = recognition_month_end(today=timezone.localdate())
    return run.pk if run else None


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY)
def revaluation_run_task(*, run_id: int) -> None:
    revaluation_execute(run_id=run_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY)
def ic_recharge_task(*, run_id: int) -> None:
    recharge_execute(run_id=run_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY)
def cost_posting_task(*, run_id: int) -> None:
    cost_posting_execute(run_id=run_id)
