"""Webhooks: business events delivered to external receivers, signed, from the outbox.

- `event_emit()` is called by a service inside its transaction. It records the Event once per `key` and
  writes one outbox message per active subscription to that event type. Nothing leaves before commit.
- Delivery posts JSON to the receiver with headers `PSA-Event-Id`, `PSA-Event-Type`, `PSA-Delivery-Id` and
  `PSA-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the subscription secret>`.
  A 2xx answer delivers; anything else (or a timeout) is retried by the outbox with exponential backoff and
  marked failed with the reason after PSA_OUTBOX_MAX_ATTEMPTS. Every attempt is logged (WebhookAttempt).
- At-least-once: a receiver deduplicates by `PSA-Event-Id` (the same for every attempt and replay).
- Targets must be http(s); with PSA_WEBHOOKS_ALLOW_PRIVATE off, addresses that resolve to private,
  loopback, link-local or reserved ranges are refused at subscription time and again at delivery time.
"""

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from psa.core.audit import audit_record
from psa.core.exceptions import ValidationFailed
from psa.core.models import Event, OutboxMessage, WebhookAttempt, WebhookSubscription
from psa.core.outbox import outbox_enqueue, outbox_register_handler, outbox_replay

EVENT_TYPES = {
    "opportunity.won": "A deal was won and handed off to delivery.",
    "project.created": "A project was created (from a won deal or by hand).",
    "time.approved": "Time entries were approved.",
    "invoice.issued": "An invoice was issued (numbered and posted).",
    "payment.received": "A payment was recorded.",
    "period.closed": "An accounting period was closed.",
}
SIGNATURE_HEADER = "PSA-Signature"
SIGNATURE_TOLERANCE_S = 300


# --- signing -------------------------------------------------------------------------------------------
def webhook_sign(*, secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def webhook_verify(
    *, secret: str, header: str, body: bytes, tolerance_s: int = SIGNATURE_TOLERANCE_S, now: int | None = None
) -> bool:
    """What a receiver does: check the HMAC and that the timestamp is recent (replay protection)."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        t = int(parts["t"])
        given = parts["v1"]
    except (ValueError, KeyError):
        return False
    current = int(time.time()) if now is None else now
    if abs(current - t) > tolerance_s:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given)


# --- targets -------------------------------------------------------------------------------------------
def _forbidden_address(ip: str) -> bool:
    addr = ipaddress.ip_address(ip)
    return (
        addr.is_private
        or addr.is_loopback
        or addr.is_link_local
        or addr.is_reserved
        or addr.is_multicast
        or addr.is_unspecified
    )


def webhook_check_url(url: str) -> None:
    """Refuse non-http(s) URLs, and private targets unless PSA_WEBHOOKS_ALLOW_PRIVATE is on."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(
            "A webhook URL must start with http:// or https:// and name a host.",
            fields={"url": ["Use an http(s) URL."]},
        )
    if settings.PSA_WEBHOOKS_ALLOW_PRIVATE:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except socket.gaierror as exc:
        raise ValidationFailed(
            f"The host '{parts.hostname}' does not resolve.", fields={"url": [f"Unknown host: {exc}"]}
        ) from exc
    for info in infos:
        if _forbidden_address(info[4][0]):
            raise ValidationFailed(
                f"'{parts.hostname}' resolves to a private or local address ({info[4][0]}); such targets are "
                "not allowed here.",
                fields={"url": ["Private, loopback and link-local targets are not allowed."]},
            )


def _clean_event_types(event_types: list[str]) -> list[str]:
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if not event_types:
        raise ValidationFailed("Pick at least one event type.", fields={"event_types": ["Required."]})
    if unknown:
        raise ValidationFailed(
            f"Unknown event types: {', '.join(unknown)}.",
            fields={"event_types": [f"Choose from: {', '.join(EVENT_TYPES)}."]},
        )
    return sorted(set(event_types))


# --- subscriptions -------------------------------------------------------------------------------------
@transaction.atomic
def webhook_subscription_create(
    *, name: str, url: str, event_types: list[str], by=None, secret: str | None = None
) -> WebhookSubscription:
    if not name.strip():
        raise ValidationFailed("Name the subscription.", fields={"name": ["Required."]})
    webhook_check_url(url)
    sub = WebhookSubscription(
        name=name.strip(),
        url=url,
        event_types=_clean_event_types(event_types),
        secret=secret or secrets.token_hex(32),
        created_by=by,
    )
    sub.full_clean()
    sub.save()
    audit_record(actor=by, action="webhook.created", obj=sub, summary=f"Webhook '{sub.name}' → {sub.url}")
    return sub


@transaction.atomic
def webhook_subscription_update(*, subscription_id: int, by=None, **changes) -> WebhookSubscription:
    sub = WebhookSubscription.objects.select_for_update().get(pk=subscription_id)
    if "url" in changes:
        webhook_check_url(changes["url"])
    if "event_types" in changes:
        changes["event_types"] = _clean_event_types(changes["event_types"])
    for field, value in changes.items():
        if field not in {"name", "url", "event_types", "active"}:
            raise ValidationFailed(f"'{field}' cannot be changed.", fields={field: ["Not editable."]})
        setattr(sub, field, value)
    sub.full_clean()
    sub.save()
    audit_record(
        actor=by,
        action="webhook.updated",
        obj=sub,
        summary=f"Webhook '{sub.name}' changed",
        data={"fields": sorted(changes)},
    )
    return sub


# --- events --------------------------------------------------------------------------------------------
def event_emit(*, type: str, key: str, data: dict, correlation_id: str = "") -> Event:
    """Record a business event once per `key` and queue it for each subscribed receiver (after commit)."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {type!r}")
    clean = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    event, created = Event.objects.get_or_create(
        key=key, defaults={"type": type, "data": clean, "correlation_id": correlation_id}
    )
    if not created:
        return event
    for sub in WebhookSubscription.objects.filter(active=True).order_by("pk"):
        if type in sub.event_types:
            outbox_enqueue(
                kind="webhook",
                dedupe_key=f"webhook:{sub.pk}:{event.pk}",
                payload={"subscription_id": sub.pk, "event_id": str(event.pk)},
            )
    return event


def event_body(event: Event) -> bytes:
    return json.dumps(
        {
            "id": str(event.pk),
            "type": event.type,
            "occurred_at": event.occurred_at.isoformat(),
            "correlation_id": event.correlation_id,
            "data": event.data,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()


def _deliver_webhook(message: OutboxMessage) -> None:
    sub = WebhookSubscription.objects.get(pk=message.payload["subscription_id"])
    event = Event.objects.get(pk=message.payload["event_id"])
    attempt = WebhookAttempt(message=message, subscription=sub, event=event)
    started = time.monotonic()
    try:
        if not sub.active:
            raise RuntimeError("subscription is inactive")
        webhook_check_url(sub.url)
        body = event_body(event)
        request = urllib.request.Request(  # noqa: S310 (http(s) only: webhook_check_url)
            sub.url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "PSA-Webhooks/1",
                "PSA-Event-Id": str(event.pk),
                "PSA-Event-Type": event.type,
                "PSA-Delivery-Id": str(message.pk),
                SIGNATURE_HEADER: webhook_sign(secret=sub.secret, body=body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=settings.PSA_WEBHOOK_TIMEOUT_S) as response:  # noqa: S310 (scheme checked above)
                attempt.status_code = response.status
        except urllib.error.HTTPError as exc:
            attempt.status_code = exc.code
            raise RuntimeError(f"receiver answered {exc.code}") from exc
        attempt.ok = True
    except Exception as exc:
        attempt.error = f"{type(exc).__name__}: {exc}"[:2000]
        raise
    finally:
        attempt.duration_ms = int((time.monotonic() - started) * 1000)
        # The attempt row commits with the outbox row's own update (same transaction in outbox_deliver).
        attempt.save()


outbox_register_handler("webhook", _deliver_webhook)


@transaction.atomic
def webhook_replay(*, message_id: str, by=None) -> OutboxMessage:
    """Send a webhook again: a failed one goes back in the queue; a delivered one is re-sent as a new
    delivery of the same event (same PSA-Event-Id, so the receiver can tell it is a duplicate)."""
    message = OutboxMessage.objects.select_for_update().get(pk=message_id, kind="webhook")
    if message.status == "failed":
        result = outbox_replay(message_id=message_id)
    else:
        n = OutboxMessage.objects.filter(dedupe_key__startswith=f"{message.dedupe_key}:replay").count()
        result = outbox_enqueue(
            kind="webhook", dedupe_key=f"{message.dedupe_key}:replay{n + 1}", payload=message.payload
        )
    audit_record(
        actor=by,
        action="webhook.replayed",
        object_type="core.outboxmessage",
        object_id=message_id,
        summary=f"Webhook delivery {message_id} replayed",
    )
    return result
