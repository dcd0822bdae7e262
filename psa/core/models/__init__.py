"""Kernel tables: idempotency records, the outbox, the audit log, API tokens and files waiting for an import's
confirmation."""

import uuid

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import models
from knox.models import AbstractAuthToken

from psa.core.history import tracked
from psa.core.models.entities import EntityBankAccount, LegalEntity  # noqa: F401 (the package's models)
from psa.core.money import FX_RATE_FIELD


class IdempotencyRecord(models.Model):
    """One externally triggered write, keyed by (user, Idempotency-Key).

    The row is inserted in the same transaction as the write it guards, so a concurrent request with the same
    key waits on the unique index and then replays the stored response.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="sha256 of method, path and payload")
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key_unique")]

    def __str__(self) -> str:
        return f"{self.key} ({self.method} {self.path})"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class OutboxMessage(models.Model):
    """A side effect (email, webhook) waiting to leave. Written in the business transaction; delivered by a
    job after commit, at least once, deduplicated by `id` at the receiver and by `dedupe_key` here."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=50, help_text="handler name, e.g. 'email'")
    dedupe_key = models.CharField(max_length=255, unique=True)
    payload = models.JSONField()
    status = models.CharField(max_length=12, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=[s.value for s in OutboxStatus]), name="outbox_status_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.dedupe_key} ({self.status})"


class AuditEvent(models.Model):
    """Who did what to which object, and when. Written by services inside their transaction."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64)
    summary = models.CharField(max_length=300)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["object_type", "object_id", "at"], name="audit_object_idx")]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type}#{self.object_id}"


class NumberSeries(models.Model):
    """The counter of one gapless number series in one year (e.g. journal entries of 2026).

    `number_next` increments `last` with a single UPDATE inside the caller's transaction: the row stays locked
    until that transaction ends, so concurrent callers queue up, numbers follow commit order, and a rollback
    gives the number back.
    """

    series = models.CharField(max_length=20)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["series", "year"], name="numberseries_series_year_unique")]

    def __str__(self) -> str:
        return f"{self.series} {self.year}: {self.last}"


class RateSource(models.TextChoices):
    MANUAL = "manual", "Entered by hand"
    API = "api", "API"
    ECB = "ecb", "ECB reference rates file"
    DEMO = "demo", "Demo data"


@tracked()
class ExchangeRate(models.Model):
    """A dated exchange rate: one unit of `currency` is worth `rate` units of `quote` (the functional currency)
    from `date` on, until the next rate of the pair. Read through psa.core.fx.rate_for (the latest on or before a
    date; a missing rate is a refusal, never 1:1). A correction changes the row; its history keeps the old value."""

    currency = models.CharField(max_length=3, help_text="The foreign currency (ISO 4217).")
    quote = models.CharField(max_length=3, help_text="The currency the rate converts into (the functional one).")
    date = models.DateField()
    rate = models.DecimalField(**FX_RATE_FIELD, help_text="Units of the quote currency for one unit of currency.")
    source = models.CharField(max_length=10, choices=RateSource.choices, default=RateSource.MANUAL)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["currency", "-date"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "quote", "date"], name="fx_rate_pair_date_unique"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="fx_rate_positive"),
            models.CheckConstraint(condition=~models.Q(currency=models.F("quote")), name="fx_rate_two_currencies"),
            models.CheckConstraint(
                condition=models.Q(source__in=[s.value for s in RateSource]), name="fx_rate_source_valid"
            ),
        ]
        indexes = [models.Index(fields=["currency", "quote", "-date"], name="fx_rate_lookup_idx")]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} {self.quote} on {self.date:%Y-%m-%d}"


class WebhookSubscription(models.Model):
    """An external receiver of PSA events. Payloads are signed with `secret` (HMAC-SHA256)."""

    name = models.CharField(max_length=120)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=128)
    event_types = models.JSONField(default=list, help_text="event types delivered, e.g. ['invoice.issued']")
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} → {self.url}"


class Event(models.Model):
    """A business event (opportunity.won, invoice.issued, ...), written in the transaction that caused it.

    `key` makes emission idempotent: a service that runs twice emits its event once. `correlation_id`
    follows one deal from opportunity to cash.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=50, db_index=True)
    key = models.CharField(max_length=255, unique=True)
    correlation_id = models.CharField(max_length=64, blank=True, db_index=True)
    data = models.JSONField(default=dict)
    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-occurred_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.key}"


class WebhookAttempt(models.Model):
    """One HTTP delivery attempt of an outbox message to a webhook receiver: the delivery log."""

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="webhook_attempts")
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="attempts")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="attempts")
    at = models.DateTimeField(auto_now_add=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["subscription", "at"], name="webhook_attempt_sub_idx")]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.subscription_id}: {self.status_code or self.error[:40]}"


class ImportUpload(models.Model):
    """A CSV file that passed an import's dry run, kept until its user confirms the import (psa.core.imports).

    The confirmation names the file by its digest, so the import writes exactly the bytes the dry run checked
    whatever their size; each user keeps at most one file per import kind, and none for longer than a day."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30, help_text="crm, time or bank")
    digest = models.CharField(max_length=64, help_text="sha256 of the content")
    content = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="importupload_one_per_user_kind")]

    def __str__(self) -> str:
        return f"{self.kind} import of {self.user_id} ({self.digest[:12]})"


class ApiTokenAccess(models.TextChoices):
    READ = "read", "Read only"
    WRITE = "write", "Read and write"


# The parts of the API a token may be limited to: the app that owns each endpoint.
API_TOKEN_APPS = {
    "crm": "CRM: accounts, contacts, opportunities",
    "projects": "Projects: contracts, staffing, time and expenses",
    "ledger": "Ledger: journal, periods, revenue recognition",
    "billing": "Billing: runs, invoices, payments",
    "web": "Dashboard, exception queue, webhooks and API tokens",
}


class ApiToken(AbstractAuthToken):
    """One integration's API token (django-rest-knox): only the SHA-512 digest of the secret is stored.

    Named by its owner, limited to read-only or read-write access and optionally to some apps (`apps` empty:
    every app), expiring (`expiry`), revoked by deleting the row: by its owner, by an admin, or for every
    token of a user when the user's password changes.
    """

    # knox makes the digest the primary key; a surrogate id keeps it out of URLs and logs.
    digest = models.CharField(max_length=128, unique=True)
    name = models.CharField(max_length=100)
    access = models.CharField(max_length=5, choices=ApiTokenAccess.choices, default=ApiTokenAccess.WRITE)
    apps = models.JSONField(default=list, blank=True, help_text="App labels the token may reach; empty: all")

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(access__in=["read", "write"]), name="apitoken_access_valid")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"


# Users and roles (psa.core.roles: a role is a group, held through the user's `groups`) belong to Django's auth
# app, whose migrations are not ours: their history is tracked through proxy models here, so the event tables
# (UserEvent, GroupEvent, UserRoleEvent: a group given to or taken from a user) and their triggers are migrated
# by this app.
@tracked(model_name="UserEvent", exclude=["password", "last_login"])
class TrackedUser(User):  # type: ignore[django-manager-missing]  # knox's token model is untyped: no reverse manager
    class Meta:
        proxy = True
        verbose_name = "user"


@tracked(model_name="GroupEvent")
class TrackedGroup(Group):
    class Meta:
        proxy = True
        verbose_name = "role"


@tracked(model_name="UserRoleEvent")
class TrackedUserRole(User.groups.through):  # type: ignore[name-defined]  # auto-created through model: runtime only
    class Meta:
        proxy = True
        verbose_name = "role assignment"
