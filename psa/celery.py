"""The Celery application.

Configuration lives in Django settings under the CELERY_ prefix (see psa/settings.py): late acks, rejection on
worker loss, prefetch 1, JSON only, time limits, and a Redis visibility timeout above the longest job.
Tasks take ids, call one service, and are safe to run twice. Long jobs go to queues of their own (billing,
revenue, rendering, outbox) through `task_route`; settings.JOB_QUEUE_OF_TASK says which.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "psa.settings")


def task_route(name: str, args, kwargs, options, task=None, **kw) -> dict | None:
    """The queue of task `name` (settings.JOB_QUEUE_OF_TASK, read at send time); None leaves it on the default."""
    from django.conf import settings

    queue = settings.JOB_QUEUE_OF_TASK.get(name)
    return {"queue": f"{settings.CELERY_QUEUE_PREFIX}{queue}"} if queue else None


app = Celery("psa", task_cls="celery.contrib.django.task:DjangoTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
