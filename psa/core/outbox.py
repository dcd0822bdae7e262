"""The outbox: side effects leave only from a committed row.

A service calls `outbox_enqueue()` inside its transaction; after commit a job delivers the message. Delivery
is at least once (a crash after sending and before marking re-sends), so every payload carries the message id
for the receiver to deduplicate. Failed attempts back off exponentially; after PSA_OUTBOX_MAX_ATTEMPTS the
message is marked failed with the last error and stays visible for a replay.
"""

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from psa.core.jobs import job_enqueue_on_commit
from psa.core.models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

# psa.core.tasks imports this module; the job is named, not imported (psa/core/jobs.py).
DELIVER_TASK = "psa.core.tasks.outbox_deliver_task"

Handler = Callable[[OutboxMessage], None]
_HANDLERS: dict[str, Handler] = {}


def outbox_register_handler(kind: str, handler: Handler) -> None:
    """Apps register the delivery function for their message kind (from AppConfig.ready)."""
    _HANDLERS[kind] = handler


def _deliver_email(message: OutboxMessage) -> None:
    p = message.payload
    email = EmailMessage(
        subject=p["subject"],
        body=p["body"],
        from_email=p.get("from_email") or settings.DEFAULT_FROM_EMAIL,
        to=p["to"],
        headers={"X-PSA-Message-Id": str(message.id)},
    )
    for attachment in p.get("attachments", []):
        with default_storage.open(attachment["path"], "rb") as fh:
            email.attach(attachment["filename"], fh.read(), attachment.get("mimetype"))
    email.send(fail_silently=False)


outbox_register_handler("email", _deliver_email)


def outbox_enqueue(*, kind: str, dedupe_key: str, payload: dict) -> OutboxMessage:
    """Write a message in the caller's transaction; delivery is scheduled after commit.

    The same `dedupe_key` twice gives one message (the first), so a re-run service sends nothing twice.
    """
    if kind not in _HANDLERS:
        raise ValueError(f"no outbox handler for kind {kind!r}")
    message, created = OutboxMessage.objects.get_or_create(
        dedupe_key=dedupe_key,
        defaults={"kind": kind, "payload": payload, "next_attempt_at": timezone.now()},
    )
    if created:
        job_enqueue_on_commit(DELIVER_TASK, message_id=str(message.id))
    return message


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 6 * 3600))


def outbox_deliver(*, message_id: str) -> OutboxMessage | None:
    """Deliver one pending message, holding its row lock so two workers never send it at once."""
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=OutboxStatus.PENDING)
            .first()
        )
        if message is None:
            return None
        message.attempts += 1
        handler = _HANDLERS.get(message.kind)
        try:
            if handler is None:
                raise LookupError(f"no outbox handler for kind {message.kind!r}")
            handler(message)
        except Exception as exc:
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= settings.PSA_OUTBOX_MAX_ATTEMPTS:
                message.status = OutboxStatus.FAILED
            else:
                message.next_attempt_at = timezone.now() + _backoff(message.attempts)
            log.warning("outbox message %s attempt %s failed: %s", message.pk, message.attempts, exc)
        else:
            message.status = OutboxStatus.DELIVERED
            message.delivered_at = timezone.now()
            message.last_error = ""
        message.save(update_fields=["attempts", "status", "next_attempt_at", "last_error", "delivered_at"])
        return message


def outbox_deliver_due(*, limit: int = 200) -> int:
    """Deliver pending messages whose time has come (the beat poller; catches anything a crash missed)."""
    ids = list(
        OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    delivered = 0
    for message_id in ids:
        result = outbox_deliver(message_id=str(message_id))
        if result is not None and result.status == OutboxStatus.DELIVERED:
            delivered += 1
    return delivered


def outbox_replay(*, message_id: str) -> OutboxMessage:
    """Put a failed message back in the queue (same id, so receivers still deduplicate)."""
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().get(pk=message_id)
        if message.status == OutboxStatus.FAILED:
            message.status = OutboxStatus.PENDING
            message.next_attempt_at = timezone.now()
            message.attempts = 0
            message.save(update_fields=["status", "next_attempt_at", "attempts"])
            job_enqueue_on_commit(DELIVER_TASK, message_id=str(message_id))
        return message
