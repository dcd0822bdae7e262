"""Webhooks: deliveries to a real local HTTP receiver signed by the Standard Webhooks scheme (verified with its
reference library), retries, recovery without duplicates, replay."""

import importlib
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps as django_apps
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from psa.core.exceptions import ValidationFailed
from psa.core.models import Event, OutboxMessage, OutboxStatus, WebhookAttempt, WebhookSubscription
from psa.core.outbox import outbox_deliver, outbox_deliver_due
from psa.core.webhooks import (
    event_emit,
    webhook_replay,
    webhook_sign,
    webhook_subscription_create,
)
from tests.core.webhook_net import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver(settings):
    settings.PSA_WEBHOOKS_ALLOW_PRIVATE = True
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def subscription(receiver, make_user):
    return webhook_subscription_create(
        name="ERP", url=receiver.url, event_types=["invoice.issued", "payment.received"], by=make_user("admin")
    )


def _deliver_all():
    for message in OutboxMessage.objects.filter(kind="webhook", status=OutboxStatus.PENDING):
        outbox_deliver(message_id=str(message.pk))


def test_a_subscribed_event_arrives_signed_and_verifiable(receiver, subscription):
    event = event_emit(
        type="invoice.issued", key="invoice.issued:1", data={"number": "INV-2026-000001"}, correlation_id="deal-42"
    )
    _deliver_all()
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    headers = request["headers"]
    assert headers["webhook-id"] == str(event.pk)
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    assert headers["webhook-signature"].startswith("v1,")
    assert headers["psa-event-type"] == "invoice.issued"
    # The receiver verifies with the Standard Webhooks reference library and the secret shown to the admin.
    payload = Webhook(subscription.secret).verify(request["body"], request["headers"])
    assert payload["data"] == {"number": "INV-2026-000001"}
    assert payload["correlation_id"] == "deal-42"
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(request["body"], request["headers"])
    with pytest.raises(WebhookVerificationError):
        Webhook(subscription.secret).verify(request["body"] + b" ", request["headers"])


def test_the_signature_covers_the_event_id_and_the_timestamp(receiver, subscription):
    event_emit(type="invoice.issued", key="invoice.issued:2", data={})
    _deliver_all()
    request = receiver.requests[0]
    for header, forged in (("webhook-id", "another-event"), ("webhook-timestamp", str(int(time.time()) - 1))):
        with pytest.raises(WebhookVerificationError):
            Webhook(subscription.secret).verify(request["body"], {**request["headers"], header: forged})


def test_a_new_secret_is_a_standard_webhooks_secret(subscription):
    assert subscription.secret.startswith("whsec_")
    assert len(Webhook(subscription.secret)._whsecret) == 32


def test_events_outside_the_subscription_are_not_sent(receiver, subscription):
    event_emit(type="period.closed", key="period.closed:2026-10", data={})
    _deliver_all()
    assert receiver.requests == []


def test_emitting_the_same_key_twice_sends_once(receiver, subscription):
    event_emit(type="payment.received", key="payment:7", data={"amount": "10.00"})
    event_emit(type="payment.received", key="payment:7", data={"amount": "10.00"})
    _deliver_all()
    assert Event.objects.count() == 1
    assert len(receiver.requests) == 1


def test_a_failing_receiver_is_retried_and_recovers_without_duplicates(receiver, subscription):
    receiver.answers = [(500, {}), (503, {})]
    event_emit(type="invoice.issued", key="invoice.issued:9", data={})
    message = OutboxMessage.objects.get(kind="webhook")
    for _ in range(3):
        OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        outbox_deliver_due()
    message.refresh_from_db()
    assert message.status == OutboxStatus.DELIVERED
    assert message.attempts == 3
    attempts = list(WebhookAttempt.objects.filter(message=message).order_by("at", "id"))
    assert [a.status_code for a in attempts] == [500, 503, 200]
    assert [a.ok for a in attempts] == [False, False, True]
    assert "receiver answered 500" in attempts[0].error
    # Every attempt carried the same event id: the receiver keeps one.
    event_ids = {r["headers"]["webhook-id"] for r in receiver.requests}
    assert len(event_ids) == 1
    outbox_deliver_due()
    assert len(receiver.requests) == 3, "nothing is sent after success"


def test_a_receiver_that_never_recovers_ends_failed_with_the_reason(receiver, subscription, settings):
    settings.PSA_OUTBOX_MAX_ATTEMPTS = 2
    receiver.answers = [(500, {}), (500, {})]
    event_emit(type="invoice.issued", key="invoice.issued:10", data={})
    message = OutboxMessage.objects.get(kind="webhook")
    outbox_deliver(message_id=str(message.pk))
    outbox_deliver(message_id=str(message.pk))
    message.refresh_from_db()
    assert message.status == OutboxStatus.FAILED
    assert "500" in message.last_error
    webhook_replay(message_id=str(message.pk))
    outbox_deliver(message_id=str(message.pk))
    message.refresh_from_db()
    assert message.status == OutboxStatus.DELIVERED


def test_a_timeout_is_an_attempt_with_the_reason(settings, make_user):
    settings.PSA_WEBHOOKS_ALLOW_PRIVATE = True
    settings.PSA_WEBHOOK_TIMEOUT_S = 1
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection, never answers
    try:
        webhook_subscription_create(
            name="slow", url=f"http://127.0.0.1:{silent.getsockname()[1]}/", event_types=["invoice.issued"]
        )
        event_emit(type="invoice.issued", key="invoice.issued:slow", data={})
        message = OutboxMessage.objects.get(kind="webhook")
        outbox_deliver(message_id=str(message.pk))
    finally:
        silent.close()
    attempt = WebhookAttempt.objects.get()
    assert not attempt.ok
    assert "timed out" in attempt.error.lower()
    message.refresh_from_db()
    assert message.status == OutboxStatus.PENDING and message.attempts == 1


def test_replaying_a_delivered_webhook_resends_the_same_event(receiver, subscription):
    event_emit(type="invoice.issued", key="invoice.issued:11", data={})
    _deliver_all()
    message = OutboxMessage.objects.get(kind="webhook")
    webhook_replay(message_id=str(message.pk))
    _deliver_all()
    assert len(receiver.requests) == 2
    assert receiver.requests[0]["headers"]["webhook-id"] == receiver.requests[1]["headers"]["webhook-id"]


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "javascript:alert(1)", "example.com"])
def test_non_http_urls_are_refused(url):
    with pytest.raises(ValidationFailed) as exc:
        webhook_subscription_create(name="x", url=url, event_types=["invoice.issued"])
    assert "url" in exc.value.fields


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/", "http://10.0.0.8/", "http://[::1]/", "http://169.254.169.254/"])
def test_private_targets_are_refused_when_the_setting_forbids_them(settings, url):
    settings.PSA_WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(ValidationFailed, match="private or local"):
        webhook_subscription_create(name="x", url=url, event_types=["invoice.issued"])


def test_unknown_event_types_are_refused(settings):
    settings.PSA_WEBHOOKS_ALLOW_PRIVATE = True
    with pytest.raises(ValidationFailed) as exc:
        webhook_subscription_create(name="x", url="http://127.0.0.1/", event_types=["invoice.exploded"])
    assert "event_types" in exc.value.fields


def test_stale_and_tampered_signatures_are_rejected_by_the_reference_library():
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"id":"1"}'
    old = int((datetime.now(UTC) - timedelta(hours=1)).timestamp())
    now = int(time.time())

    def headers(ts: int, msg_id: str = "evt-1", signed_body: bytes = body) -> dict:
        sig = webhook_sign(secret=secret, msg_id=msg_id, timestamp=ts, body=signed_body)
        return {"webhook-id": msg_id, "webhook-timestamp": str(ts), "webhook-signature": sig}

    assert Webhook(secret).verify(body, headers(now)) == {"id": "1"}
    assert webhook_sign(secret=secret, msg_id="evt-1", timestamp=now, body=body) == Webhook(secret).sign(
        "evt-1", datetime.fromtimestamp(now, UTC), body
    )
    for bad in (headers(old), headers(now, signed_body=b'{"id":"2"}'), {**headers(now), "webhook-id": "evt-2"}):
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(body, bad)


def test_an_existing_secret_becomes_a_standard_webhooks_secret_with_the_same_key():
    """The old scheme keyed the HMAC with the secret string's bytes; the migration keeps that key."""
    legacy = "ab" * 32
    sub = WebhookSubscription.objects.create(name="old", url="http://127.0.0.1/", secret=legacy, event_types=[])
    migration = importlib.import_module("psa.core.migrations.0005_webhook_secrets_standard")
    migration.to_standard(django_apps, None)
    sub.refresh_from_db()
    assert sub.secret.startswith("whsec_")
    assert Webhook(sub.secret)._whsecret == legacy.encode()
    migration.to_standard(django_apps, None)
    sub.refresh_from_db()
    assert Webhook(sub.secret)._whsecret == legacy.encode(), "running it twice changes nothing"
