from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from psa.core import tasks
from psa.core.models import OutboxMessage, OutboxStatus
from psa.core.outbox import (
    outbox_deliver,
    outbox_deliver_due,
    outbox_enqueue,
    outbox_register_handler,
    outbox_replay,
)

pytestmark = pytest.mark.django_db


def _email(key="k1"):
    return outbox_enqueue(
        kind="email", dedupe_key=key, payload={"subject": "Hello", "body": "Body", "to": ["a@example.test"]}
    )


def test_enqueue_twice_with_the_same_key_gives_one_message(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        first = _email()
        second = _email()
    assert first.pk == second.pk
    assert OutboxMessage.objects.count() == 1
    assert len(callbacks) == 1, "delivery is scheduled once, after commit"


def test_delivery_sends_the_email_and_marks_it_delivered():
    message = _email()
    outbox_deliver(message_id=str(message.pk))
    message.refresh_from_db()
    assert message.status == OutboxStatus.DELIVERED
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["X-PSA-Message-Id"] == str(message.pk)


def test_a_delivered_message_is_not_sent_again():
    message = _email()
    outbox_deliver(message_id=str(message.pk))
    assert outbox_deliver(message_id=str(message.pk)) is None
    assert len(mail.outbox) == 1


def test_a_failing_handler_backs_off_then_fails_with_the_reason(settings):
    settings.PSA_OUTBOX_MAX_ATTEMPTS = 2

    def broken(message):
        raise ConnectionError("receiver down")

    outbox_register_handler("broken", broken)
    message = outbox_enqueue(kind="broken", dedupe_key="b1", payload={})
    outbox_deliver(message_id=str(message.pk))
    message.refresh_from_db()
    assert message.status == OutboxStatus.PENDING
    assert message.attempts == 1
    assert message.next_attempt_at > timezone.now() + timedelta(seconds=20)
    assert "receiver down" in message.last_error

    outbox_deliver(message_id=str(message.pk))
    message.refresh_from_db()
    assert message.status == OutboxStatus.FAILED
    assert message.attempts == 2


def test_replay_puts_a_failed_message_back_and_it_delivers(settings):
    settings.PSA_OUTBOX_MAX_ATTEMPTS = 1
    calls = []

    def flaky(message):
        calls.append(message.pk)
        if len(calls) == 1:
            raise TimeoutError("slow receiver")

    outbox_register_handler("flaky", flaky)
    message = outbox_enqueue(kind="flaky", dedupe_key="f1", payload={})
    outbox_deliver(message_id=str(message.pk))
    outbox_replay(message_id=str(message.pk))
    outbox_deliver(message_id=str(message.pk))
    message.refresh_from_db()
    assert message.status == OutboxStatus.DELIVERED
    assert calls == [message.pk, message.pk], "the same id both times, so receivers can deduplicate"


def test_the_poller_delivers_only_due_messages():
    due = _email("due")
    later = _email("later")
    OutboxMessage.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    assert outbox_deliver_due() == 1
    due.refresh_from_db()
    later.refresh_from_db()
    assert due.status == OutboxStatus.DELIVERED
    assert later.status == OutboxStatus.PENDING


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="no outbox handler"):
        outbox_enqueue(kind="carrier-pigeon", dedupe_key="x", payload={})


def test_after_commit_the_delivery_job_is_sent_by_its_task_name(django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr(tasks.outbox_deliver_task, "apply_async", lambda **kw: sent.append(kw))
    with django_capture_on_commit_callbacks(execute=True):
        message = _email()
        assert sent == [], "nothing leaves before commit"
    assert sent == [{"kwargs": {"message_id": str(message.pk)}}]
