"""projects jobs: thin, one service call each."""

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from projects.services.partitions import time_partitions_ensure
from projects.services.reminders import missing_time_remind


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(OperationalError,), retry_backoff=True)
def missing_time_remind_task() -> int:
    return missing_time_remind()


@shared_task(acks_late=True, reject_on_worker_lost=True, autoretry_for=(OperationalError,), retry_backoff=True)
def time_partitions_ensure_task() -> int:
    return len(time_partitions_ensure(today=timezone.localdate()))
