"""Webhooks: business events delivered to external receivers, signed, from the outbox.

- `event_emit()` is called by a service inside its transaction. It records the Event once per `key` and
  writes one outbox message per active subscription to that event type. Nothing leaves before commit.
- Delivery posts JSON to the receiver signed by the Standard Webhooks scheme (https://www.standardwebhooks.com),
  so receivers verify with its libraries: `webhook-id` (the event id), `webhook-timestamp` (unix seconds) and
  `webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed by the subscription secret
  `whsec_<base64 key>`. `PSA-Event-Type` and `PSA-Delivery-Id` ride along. A 2xx answer delivers; anything
  else (a redirect included, or a timeout) is retried by the outbox with exponential backoff and marked failed
  with the reason after PSA_OUTBOX_MAX_ATTEMPTS. Every attempt is logged (WebhookAttempt).
- At-least-once: a receiver deduplicates by `webhook-id` (the same for every attempt and replay).
- Server-side request forgery: a target must be http(s). Its name is resolved once per delivery; every
  address it resolves to must be globally routable (`ipaddress.is_global`, and so must an IPv4 address carried
  inside an IPv6 one), and the connection goes to the address that was checked, with the Host header, TLS SNI
  and certificate check for the name. A second lookup by the HTTP client (DNS rebinding) cannot happen, and
  redirects are never followed. PSA_WEBHOOKS_ALLOW_PRIVATE (tests and development only) is the one opt-out.
"""

import base64
import hashlib
import hmac
import http.client
import ipaddress
import json
import secrets
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
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
    "project.budget_threshold": "A project's actual or forecast crossed a share of its budget (a burn alert).",
    "account.credit_hold": "An account was put on credit hold, or its hold was lifted (`on_hold` says which).",
    "invoice.disputed": "A client or finance disputed an invoice (or some of its lines).",
    "invoice.overdue": "An invoice passed its due date unpaid (once per invoice, by the daily job).",
}
SECRET_PREFIX = "whsec_"
RESPONSE_READ_LIMIT = 64 * 1024  # bytes of a receiver's answer read before the connection is closed


# --- signing (Standard Webhooks) -----------------------------------------------------------------------
def webhook_secret_new() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _secret_key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4))


def webhook_sign(*, secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: "v1,<base64 HMAC-SHA256 of '<msg_id>.<timestamp>.<body>'>"."""
    mac = hmac.new(_secret_key(secret), f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


# --- targets -------------------------------------------------------------------------------------------
def webhook_address_allowed(ip: str) -> bool:
    """Globally routable, and so is any IPv4 address an IPv6 one carries (mapped, 6to4, Teredo)."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if not addr.is_global or addr.is_multicast:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        embedded = [addr.ipv4_mapped, addr.sixtofour, *(addr.teredo or ())]
        return all(inner is None or (inner.is_global and not inner.is_multicast) for inner in embedded)
    return True


@dataclass(frozen=True)
class WebhookTarget:
    """A checked target: where to connect (`addresses`, resolved once) and what to say (`host`, `path`)."""

    scheme: str
    host: str
    port: int
    path: str
    addresses: tuple[str, ...]


def webhook_resolve(url: str) -> WebhookTarget:
    """Resolve a webhook URL once and check every address it resolves to (each must be globally routable
    unless PSA_WEBHOOKS_ALLOW_PRIVATE is on). The delivery connects only to these addresses."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = None
    if parts.scheme not in ("http", "https") or not parts.hostname or port is None:
        raise ValidationFailed(
            "A webhook URL must start with http:// or https:// and name a host.",
            fields={"url": ["Use an http(s) URL."]},
        )
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationFailed(
            f"The host '{parts.hostname}' does not resolve.", fields={"url": [f"Unknown host: {exc}"]}
        ) from exc
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    if not settings.PSA_WEBHOOKS_ALLOW_PRIVATE:
        for ip in addresses:
            if not webhook_address_allowed(ip):
                raise ValidationFailed(
                    f"'{parts.hostname}' resolves to {ip}, a private or local address that is not publicly routable; "
                    "such targets are not allowed here.",
                    fields={"url": ["Only publicly routable targets are allowed."]},
                )
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return WebhookTarget(scheme=parts.scheme, host=parts.hostname, port=port, path=path, addresses=addresses)


def webhook_check_url(url: str) -> None:
    """Refuse non-http(s) URLs, and targets that are not globally routable (see `webhook_resolve`)."""
    webhook_resolve(url)


def _connect(target: WebhookTarget, timeout: float | None) -> socket.socket:
    """A TCP connection to the first checked address that answers (never a fresh lookup)."""
    error: OSError | None = None
    for ip in target.addresses:
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect((ip, target.port))
        except OSError as exc:
            sock.close()
            error = exc
            continue
        return sock
    raise error or OSError(f"no address for {target.host}")


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """http.client to a checked address; the Host header still names the host. http.client never follows
    redirects, so a 3xx comes back as an answer."""

    def __init__(self, target: WebhookTarget, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.target = target

    def connect(self) -> None:
        self.sock = _connect(self.target, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to a checked address, with SNI and certificate verification for the host name."""

    def __init__(self, target: WebhookTarget, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(target.host, target.port, timeout=timeout, context=self.tls)
        self.target = target

    def connect(self) -> None:
        self.sock = self.tls.wrap_socket(_connect(self.target, self.timeout), server_hostname=self.target.host)


def _post(target: WebhookTarget, body: bytes, headers: dict[str, str], timeout: float) -> int:
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = connection_class(target, timeout)
    try:
        conn.request("POST", target.path, body=body, headers=headers)
        response = conn.getresponse()
        response.read(RESPONSE_READ_LIMIT)
        return response.status
    finally:
        conn.close()


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
def webhook_subscription_create(*, name: str, url: str, event_types: list[str], by=None) -> WebhookSubscription:
    """A receiver of the chosen event types at a checked URL, with a new Standard Webhooks secret."""
    if not name.strip():
        raise ValidationFailed("Name the subscription.", fields={"name": ["Required."]})
    webhook_check_url(url)
    sub = WebhookSubscription(
        name=name.strip(),
        url=url,
        event_types=_clean_event_types(event_types),
        secret=webhook_secret_new(),
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
def correlation_id_for_deal(opportunity_ids: Iterable[int | None]) -> str:
    """The correlation id that follows one deal from opportunity to cash: "opp-<opportunity id>". An event that
    touches several deals (a batch approval across projects, a payment spread over invoices of different deals)
    or none carries "" rather than a wrong one. The service that emits the event knows its own rows and passes
    the id down to `event_emit`."""
    ids = {i for i in opportunity_ids if i}
    return f"opp-{ids.pop()}" if len(ids) == 1 else ""


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
        target = webhook_resolve(sub.url)
        body = event_body(event)
        msg_id, timestamp = str(event.pk), int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "PSA-Webhooks/2",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": webhook_sign(secret=sub.secret, msg_id=msg_id, timestamp=timestamp, body=body),
            "PSA-Event-Type": event.type,
            "PSA-Delivery-Id": str(message.pk),
        }
        attempt.status_code = _post(target, body, headers, settings.PSA_WEBHOOK_TIMEOUT_S)
        if 300 <= attempt.status_code < 400:
            raise RuntimeError(f"receiver answered {attempt.status_code}: redirects are not followed")
        if not 200 <= attempt.status_code < 300:
            raise RuntimeError(f"receiver answered {attempt.status_code}")
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
    delivery of the same event (same webhook-id, so the receiver can tell it is a duplicate)."""
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
