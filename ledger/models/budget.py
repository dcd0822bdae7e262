"""Burn alerts: a project's actual (or forecast) crossed a share of its budget (ledger.services.budget_alerts)."""

from django.db import models
from django.db.models import Q

from ledger.choices import BudgetAlertKind
from psa.core.money import AMOUNT_FIELD


class BudgetAlert(models.Model):
    """One crossing of one threshold by one project. Raised once per crossing (one open alert per project and
    kind, enforced by a partial unique index); cleared when the project falls back below it — a change order
    that raises the budget, a rejected entry — and raised again if it crosses again."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="budget_alerts")
    kind = models.CharField(max_length=16, choices=BudgetAlertKind.choices)
    threshold_percent = models.PositiveSmallIntegerField(help_text="The share of the budget the alert watches.")
    percent = models.DecimalField(max_digits=9, decimal_places=1, help_text="Actual or forecast share at crossing.")
    actual = models.DecimalField(**AMOUNT_FIELD, help_text="Hours or amount at crossing (forecast hours for forecast).")
    budget = models.DecimalField(**AMOUNT_FIELD, help_text="The budget (hours or amount) at crossing.")
    raised_at = models.DateTimeField(auto_now_add=True)
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "kind"], condition=Q(cleared_at__isnull=True), name="ledger_budget_alert_one_open"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in BudgetAlertKind]), name="ledger_budget_alert_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project_id} {self.kind} {self.percent}%"

    @property
    def is_open(self) -> bool:
        return self.cleared_at is None
