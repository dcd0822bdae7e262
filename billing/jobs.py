"""Enqueueing billing jobs: after the transaction commits, ids in, the task looked up by its name.

Tasks import services (billing.tasks); services enqueue through this module, which never imports the tasks
module, so there is no import cycle (an import-linter contract keeps billing.services off billing.tasks). The
tasks are registered in every process by BillingConfig.ready, so an eager run (tests) finds them by name.
"""

from celery import current_app
from django.db import transaction

BILLING_RUN_EXECUTE = "billing.tasks.billing_run_execute_task"
INVOICE_RENDER = "billing.tasks.invoice_render_task"


def _delay_on_commit(task_name: str, **ids: int) -> None:
    transaction.on_commit(lambda: current_app.tasks[task_name].delay(**ids))


def billing_run_execute_enqueue(*, run_id: int, jobs: int = 1) -> None:
    """Queue the run's job `jobs` times once the transaction that started (or resumed) the run commits. Each job
    leases the run's items one at a time, so several jobs on several workers share one run's contracts."""

    def send() -> None:
        for _ in range(max(jobs, 1)):
            current_app.tasks[BILLING_RUN_EXECUTE].delay(run_id=run_id)

    transaction.on_commit(send)


def invoice_render_enqueue(*, invoice_id: int) -> None:
    """Queue the PDF and e-invoice render of an issued invoice once its issue commits."""
    _delay_on_commit(INVOICE_RENDER, invoice_id=invoice_id)
