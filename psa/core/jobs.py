"""Enqueue a job by its task name after the caller's transaction commits.

Tasks import services (a task takes ids and calls one service); a service that starts a job therefore never
imports its app's `tasks` module, which would close an import cycle. It names the task instead: the name is
the task's dotted path (`psa.core.tasks.outbox_deliver_task`), checked when the job is sent.
"""

from typing import Any

from celery import current_app
from django.db import transaction


def job_send(task_name: str, **kwargs: Any) -> None:
    """Send the task `task_name` with keyword arguments (ids) now, as its own `delay()` would (eager mode
    included). A process that has not loaded the tasks modules yet (a web process) loads them first."""
    app = current_app
    if task_name not in app.tasks:
        app.loader.import_default_modules()
    app.tasks[task_name].apply_async(kwargs=kwargs)


def job_enqueue_on_commit(task_name: str, **kwargs: Any) -> None:
    """Send the task `task_name` once the current transaction commits (at once outside a transaction)."""
    transaction.on_commit(lambda: job_send(task_name, **kwargs))
