"""Labour cost posting runs (ledger.services.cost_posting): which month, for which legal entity (or all), how far
the run got, what it posted and which projects it refused. The postings themselves are journal entries whose
`source` names the work month and the project (`labour-cost:<YYYY-MM>:<project id>`)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from ledger.choices import CostRunStatus
from psa.core.money import AMOUNT_FIELD

_STATUSES = [s.value for s in CostRunStatus]


class CostPostingRun(models.Model):
    """One month-end labour cost run: approved time (employees and subcontractors) and approved expenses dated on
    or before the month end, posted per project and work month as the difference to what is posted already.
    Progress (projects processed of the projects with a difference) is committed per chunk."""

    period = models.ForeignKey("ledger.AccountingPeriod", on_delete=models.PROTECT, related_name="cost_runs")
    entity = models.ForeignKey(
        "core.LegalEntity", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="Only this entity's projects; empty: every entity.",
    )  # fmt: skip
    status = models.CharField(max_length=16, choices=CostRunStatus.choices, default=CostRunStatus.RUNNING)
    total = models.PositiveIntegerField(default=0, help_text="Project-months with a difference to post.")
    processed = models.PositiveIntegerField(default=0)
    projects = models.PositiveIntegerField(default=0, help_text="Projects that got an entry.")
    entries = models.PositiveIntegerField(default=0, help_text="Journal entries the run posted.")
    amount = models.DecimalField(**AMOUNT_FIELD, default=0, help_text="Net cost posted (functional currency).")
    errors = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=_STATUSES), name="ledger_costrun_status_valid"),
        ]

    def __str__(self) -> str:
        return f"Labour cost {self.period} #{self.pk}"

    @property
    def is_running(self) -> bool:
        return self.status == CostRunStatus.RUNNING

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(self.processed * 100 / self.total)
