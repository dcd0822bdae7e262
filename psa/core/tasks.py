"""Kernel jobs: thin wrappers that take ids and call one service."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from psa.core.models import IdempotencyRecord
from psa.core.outbox import outbox_deliver, outbox_deliver_due

RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": True, "max_retries": 5}


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY)
def outbox_deliver_task(*, message_id: str) -> None:
    outbox_deliver(message_id=message_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY)
def outbox_deliver_due_task() -> int:
    return outbox_deliver_due()


@shared_task(acks_late=True, reject_on_worker_lost=True, **RETRY)
def idempotency_purge_task() -> int:
    cutoff = timezone.now() - timedelta(days=settings.PSA_IDEMPOTENCY_RETENTION_DAYS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
