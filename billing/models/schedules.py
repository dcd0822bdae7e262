"""Billing schedules: the instalments and periods a fixed-fee, retainer or subscription line bills."""

from django.db import models
from django.db.models import F, Q

from billing.choices import ScheduleKind
from billing.models._common import in_choices
from psa.core.money import AMOUNT_FIELD


class ScheduleEvent(models.Model):
    """One billable instalment or period of a fixed-fee, retainer or subscription contract line."""

    contract_line = models.ForeignKey("projects.ContractLine", on_delete=models.PROTECT, related_name="schedule_events")
    sequence = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=12, choices=ScheduleKind.choices)
    description = models.CharField(max_length=200)
    period_start = models.DateField()
    period_end = models.DateField()
    bill_on = models.DateField(help_text="Billable from this date (a run with a later period end picks it up).")
    amount = models.DecimalField(**AMOUNT_FIELD)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["contract_line_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["contract_line", "sequence"], name="billing_schedule_seq_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="billing_schedule_amount_nonneg"),
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="billing_schedule_dates"),
            models.CheckConstraint(condition=in_choices("kind", ScheduleKind), name="billing_schedule_kind_valid"),
        ]
        indexes = [models.Index(fields=["bill_on"], name="billing_schedule_bill_on_idx")]

    def __str__(self) -> str:
        return self.description
