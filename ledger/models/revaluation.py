"""Month-end revaluation runs (ledger.services.revaluation): which period, with which rates, what was posted and
which earlier run of the period it replaced. The postings themselves are journal entries whose `source` names the
period and the run (`fx-revaluation:<period>:run:<id>`)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from ledger.choices import RevaluationRunStatus
from psa.core.money import AMOUNT_FIELD

_STATUSES = [s.value for s in RevaluationRunStatus]


class RevaluationRun(models.Model):
    """One revaluation of a period's open foreign-currency items at the period-end rates. Progress (items posted
    of the items with a difference) is committed per chunk, so the page shows it while the job runs."""

    period = models.ForeignKey("ledger.AccountingPeriod", on_delete=models.PROTECT, related_name="revaluation_runs")
    status = models.CharField(max_length=12, choices=RevaluationRunStatus.choices, default=RevaluationRunStatus.RUNNING)
    total = models.PositiveIntegerField(default=0, help_text="Open items with a difference to post.")
    processed = models.PositiveIntegerField(default=0)
    items = models.PositiveIntegerField(default=0, help_text="Open foreign-currency items revalued.")
    amount = models.DecimalField(**AMOUNT_FIELD, default=0, help_text="Net unrealised gain (negative: loss) posted.")
    rates = models.JSONField(default=dict, blank=True, help_text='The rates used: {"USD": ["0.9", "2026-01-31"]}.')
    entry = models.ForeignKey(
        "ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        help_text="The run's first entry (one entry per chunk of items).",
    )  # fmt: skip
    entries = models.PositiveIntegerField(default=0, help_text="Journal entries the run posted.")
    replaces = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by",
        help_text="The earlier run of the period whose postings this run reversed or cancelled.",
    )  # fmt: skip
    errors = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=_STATUSES), name="ledger_revalrun_status_valid"),
        ]

    def __str__(self) -> str:
        return f"Revaluation {self.period} #{self.pk}"

    @property
    def is_running(self) -> bool:
        return self.status == RevaluationRunStatus.RUNNING

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(self.processed * 100 / self.total)

    @property
    def source(self) -> str:
        """The `source` of the journal entries this run posts."""
        return f"{revaluation_prefix(self.period.label)}run:{self.pk}"


def revaluation_prefix(label: str) -> str:
    """The start of the `source` of every revaluation entry of one period (its runs and cancelling mirrors)."""
    return f"fx-revaluation:{label}:"
