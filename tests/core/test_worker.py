"""A real Celery worker process on Redis delivers an outbox message written by a committed transaction."""

import pytest
from django.db import transaction

from psa.core.models import OutboxMessage, OutboxStatus
from psa.core.outbox import outbox_enqueue
from tests.waiting import wait_for

pytestmark = [pytest.mark.slow, pytest.mark.worker, pytest.mark.postgres]


def test_a_real_worker_delivers_the_outbox_after_commit(celery_worker_process):
    with transaction.atomic():
        message = outbox_enqueue(
            kind="email",
            dedupe_key="worker-test-1",
            payload={"subject": "Invoice INV-1", "body": "Attached.", "to": ["client@example.test"]},
        )
    delivered = wait_for(lambda: OutboxMessage.objects.filter(pk=message.pk, status=OutboxStatus.DELIVERED).exists())
    assert delivered, celery_worker_process.log()[-3000:]
    files = list(celery_worker_process.mail_dir.glob("*.log"))
    assert len(files) == 1
    assert "Subject: Invoice INV-1" in files[0].read_text()


def test_nothing_is_enqueued_when_the_transaction_rolls_back(celery_worker_process):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        outbox_enqueue(kind="email", dedupe_key="rolled-back", payload={"subject": "x", "body": "y", "to": ["a@b.c"]})
        raise Boom
    celery_worker_process.drain()
    assert not OutboxMessage.objects.filter(dedupe_key="rolled-back").exists()
    assert "outbox_deliver_task[" not in celery_worker_process.log(), "no task was received"
