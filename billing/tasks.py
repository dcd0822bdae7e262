"""Billing jobs: ids in, one service call, safe to run twice. Services enqueue them by name (billing.jobs)."""

from celery import shared_task
from django.db import OperationalError, transaction

from billing.services import billing_run_execute, billing_runs_resume_stalled, dunning_send, invoice_render
from billing.services.credit import credit_holds_apply, invoices_overdue_emit
from billing.services.runs import billing_sweep
from billing.services.time_summary import time_summary_refresh

RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": True, "max_retries": 5}


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY)
def billing_run_execute_task(*, run_id: int) -> None:
    billing_run_execute(run_id=run_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY)
def invoice_render_task(*, invoice_id: int) -> None:
    invoice_render(invoice_id=invoice_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY)
def billing_sweep_task() -> dict:
    with transaction.atomic():
        return billing_sweep()


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY)
def billing_runs_resume_stalled_task() -> list[int]:
    """Every 20 s: queue again the runs whose workers died (their item leases expired)."""
    return billing_runs_resume_stalled()


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY)
def dunning_send_task() -> int:
    """Daily: the payment reminders that became due (each level once per invoice)."""
    return len(dunning_send().sent)


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY)
def credit_daily_task() -> dict:
    """Daily: `invoice.overdue` for newly overdue invoices, then the credit-hold rule (both safe to run twice)."""
    overdue = invoices_overdue_emit()
    holds = credit_holds_apply()
    return {"overdue": overdue, "placed": holds.placed, "released": holds.released}


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY)
def time_summary_refresh_task() -> int:
    """Every two minutes: bring the approved-time summary up to date (the months touched since the last run)."""
    return time_summary_refresh().months
