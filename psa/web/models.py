"""The composition layer's own data: dismissed or snoozed exception-queue items and the demo registry.

The audit trail of master and financial data is no longer kept here: each app tracks its own models with
PostgreSQL triggers (psa.core.history) and migrates its own event tables; psa/web only shows them
(psa.web.audit_trail).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

from psa.core.dateformat import DateFormat


class DismissalAction(models.TextChoices):
    DISMISS = "dismiss", "Dismissed"
    SNOOZE = "snooze", "Snoozed"


class ExceptionDismissal(models.Model):
    """A person's decision to hide one exception-queue item, with the reason.

    `fingerprint` is a digest of the item's facts when it was dismissed: when the facts change (more hours,
    a larger amount, a later projected date), the fingerprint no longer matches and the item comes back.
    A snooze hides it until `until` (inclusive) whatever happens. One decision per item; a new one replaces it.
    """

    rule = models.CharField(max_length=40)
    item_key = models.CharField(max_length=100, help_text="The object the item is about, e.g. 'time_entry:42'.")
    fingerprint = models.CharField(max_length=64)
    action = models.CharField(max_length=8, choices=DismissalAction.choices)
    until = models.DateField(null=True, blank=True, help_text="Snoozed through this day.")
    reason = models.CharField(max_length=300)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "item_key"], name="web_dismissal_one_per_item"),
            models.CheckConstraint(
                condition=models.Q(action__in=[a.value for a in DismissalAction]), name="web_dismissal_action_valid"
            ),
            models.CheckConstraint(
                condition=~models.Q(action="snooze") | models.Q(until__isnull=False), name="web_snooze_has_until"
            ),
            models.CheckConstraint(condition=~models.Q(reason=""), name="web_dismissal_reason_required"),
        ]

    def __str__(self) -> str:
        return f"{self.rule} {self.item_key} {self.action}"


class DemoObject(models.Model):
    """The registry of what `seed_demo` created: one row per demo account, deal, project, contract and manual
    journal entry (psa.web.demo). The seed works only on a database holding nothing outside this registry, so it
    never changes, bills, recognises or closes anything of a firm's own data."""

    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.CASCADE, related_name="+")
    object_id = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["content_type", "object_id"], name="web_demo_object_once"),
        ]

    def __str__(self) -> str:
        return f"demo {self.content_type_id}:{self.object_id}"


class UserPreference(models.Model):
    """What a person chose for how pages look to them. An empty date format means the firm's (PSA_DATE_FORMAT)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="psa_preference")
    date_format = models.CharField(max_length=10, blank=True, choices=DateFormat.choices)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(date_format__in=["", *DateFormat.values]), name="web_preference_date_format_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.date_format or 'firm default'}"
