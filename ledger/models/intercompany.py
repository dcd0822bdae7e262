"""Intercompany time: dated transfer rates between legal entities, and the month-end recharge runs.

A consultant employed by entity A who works on a project of entity B is recharged from A to B at month-end
(ledger.services.intercompany). The price is the time entry's snapshot cost rate plus the markup of the transfer
rate of the pair A → B (per delivery role, or for every role) valid on the work date. The postings are journal
entries whose `source` names the month and the pair (ledger.choices.IC_RECHARGE_SOURCE).
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from ledger.choices import IntercompanyRunStatus
from psa.core.history import tracked
from psa.core.money import AMOUNT_FIELD, HOURS_FIELD, DecimalShape

MARKUP_FIELD: DecimalShape = {"max_digits": 7, "decimal_places": 2}
MAX_MARKUP = 1000

_RUN_STATUSES = [s.value for s in IntercompanyRunStatus]


@tracked()
class TransferRate(models.Model):
    """Cost plus `markup_percent` for hours the `supplier` entity's consultants work on the `receiver` entity's
    projects, from `valid_from` through `valid_to` (open-ended when empty). A rate with a delivery role applies to
    that role only and wins over the pair's rate for every role (`role` empty) on the same day."""

    supplier = models.ForeignKey(
        "core.LegalEntity", on_delete=models.PROTECT, related_name="+", help_text="The employing entity (A)."
    )
    receiver = models.ForeignKey(
        "core.LegalEntity", on_delete=models.PROTECT, related_name="+", help_text="The project's entity (B)."
    )
    role = models.ForeignKey(
        "crm.DeliveryRole",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Only this delivery role; empty: every role of the pair.",
    )
    markup_percent = models.DecimalField(**MARKUP_FIELD, help_text="Added to the cost rate, 0 to 1000 %.")
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, help_text="Last day it applies; empty: until further notice.")
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["supplier_id", "receiver_id", "role_id", "valid_from"]
        constraints = [
            models.CheckConstraint(condition=~Q(supplier=F("receiver")), name="ledger_transfer_rate_two_entities"),
            models.CheckConstraint(
                condition=Q(markup_percent__gte=0) & Q(markup_percent__lte=MAX_MARKUP),
                name="ledger_transfer_rate_markup_range",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="ledger_transfer_rate_dates",
            ),
        ]
        indexes = [models.Index(fields=["supplier", "receiver", "valid_from"], name="ledger_transfer_rate_pair")]

    def __str__(self) -> str:
        role = f" {self.role}" if self.role_id else ""
        return f"{self.supplier_id}→{self.receiver_id}{role}: cost + {self.markup_percent} % from {self.valid_from}"

    def clean(self) -> None:
        """The admin's check of what PostgreSQL's exclusion constraint refuses (migration 0014): no other rate of
        the same pair and role overlaps these dates."""
        if not (self.supplier_id and self.receiver_id and self.valid_from):
            return
        others = TransferRate.objects.filter(
            supplier_id=self.supplier_id, receiver_id=self.receiver_id, role_id=self.role_id
        ).exclude(pk=self.pk)
        others = others.exclude(valid_to__lt=self.valid_from)
        if self.valid_to is not None:
            others = others.exclude(valid_from__gt=self.valid_to)
        if others.exists():
            raise ValidationError(
                {"valid_from": "Another rate of this pair and role overlaps these dates: end it first."}
            )


class IntercompanyRun(models.Model):
    """One month-end recharge: which month, what it posted (`pairs`: per entity pair the hours, the month's
    recharge and what this run added to it) and who ran it. Re-running a month posts only the difference."""

    month = models.DateField(help_text="The first day of the month recharged.")
    status = models.CharField(
        max_length=12, choices=IntercompanyRunStatus.choices, default=IntercompanyRunStatus.RUNNING
    )
    hours = models.DecimalField(**HOURS_FIELD, default=0)
    amount = models.DecimalField(**AMOUNT_FIELD, default=0, help_text="The month's recharge after this run.")
    posted = models.DecimalField(**AMOUNT_FIELD, default=0, help_text="What this run added (negative: took back).")
    entries = models.PositiveIntegerField(default=0, help_text="Journal entries this run posted.")
    pairs = models.JSONField(default=list, blank=True)
    errors = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=_RUN_STATUSES), name="ledger_icrun_status_valid"),
            models.CheckConstraint(condition=Q(month__day=1), name="ledger_icrun_month_first_day"),
        ]

    def __str__(self) -> str:
        return f"Intercompany recharge {self.month:%Y-%m} #{self.pk}"

    @property
    def label(self) -> str:
        return self.month.strftime("%Y-%m")
