"""Cash forecast snapshots: a forecast as it stood on a day (its scenario, rates and every bucket's figure), kept
so that its accuracy against the cash actually received and paid can be shown later. Written once by
billing.services.cash and never changed."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from billing.choices import CashFlowKind
from billing.models._common import in_choices
from psa.core.money import AMOUNT_FIELD


class CashForecastSnapshot(models.Model):
    as_of = models.DateField(help_text="The day the forecast was made for (its first bucket holds it).")
    note = models.CharField(max_length=200, blank=True)
    scenario = models.JSONField(default=dict, blank=True, help_text="Deals left out, moved or re-weighted.")
    functional_currency = models.CharField(max_length=3)
    rates_text = models.CharField(max_length=1000, blank=True, help_text="The rates the figures were converted at.")
    missing_rates = models.CharField(max_length=200, blank=True, help_text="Currencies that had no rate.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-as_of", "-id"]

    def __str__(self) -> str:
        return f"Cash forecast of {self.as_of:%Y-%m-%d}"


class CashForecastLine(models.Model):
    """One bucket's figure of one kind in one currency, and its functional value (null: no rate that day)."""

    class Granularity(models.TextChoices):
        WEEK = "week", "Week"
        MONTH = "month", "Month"

    snapshot = models.ForeignKey(CashForecastSnapshot, on_delete=models.CASCADE, related_name="lines")
    granularity = models.CharField(max_length=5, choices=Granularity.choices)
    bucket_start = models.DateField()
    bucket_end = models.DateField()
    kind = models.CharField(max_length=10, choices=CashFlowKind.choices)
    currency = models.CharField(max_length=3)
    amount = models.DecimalField(**AMOUNT_FIELD)
    functional = models.DecimalField(**AMOUNT_FIELD, null=True, blank=True)

    class Meta:
        ordering = ["snapshot_id", "granularity", "bucket_start", "kind", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["snapshot", "granularity", "bucket_start", "kind", "currency"], name="billing_cashline_unique"
            ),
            models.CheckConstraint(condition=in_choices("kind", CashFlowKind), name="billing_cashline_kind_valid"),
            models.CheckConstraint(
                condition=Q(granularity__in=["week", "month"]), name="billing_cashline_granularity_valid"
            ),
            models.CheckConstraint(condition=Q(bucket_end__gte=F("bucket_start")), name="billing_cashline_dates"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.bucket_start} {self.amount} {self.currency}"
