"""Revenue recognition data: a schedule per contract line, its planned months, the PM's estimate to complete per
project, recognition runs and what each run recognised per line.

What is recognised lives twice on purpose: as journal lines (the truth the reports reconcile to) and as
`Recognition` rows per schedule and period (what the run computed: the cumulative target and the difference it
posted), so a re-run computes the next difference from `RevenueSchedule.recognised` without scanning the journal.
Both are written in the same transaction.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from ledger.choices import RecognitionMethod, RecognitionRunStatus
from psa.core.money import AMOUNT_FIELD, HOURS_FIELD

_METHODS = [m.value for m in RecognitionMethod]
_RUN_STATUSES = [s.value for s in RecognitionRunStatus]


class RevenueSchedule(models.Model):
    """How and how much of one contract line has been recognised. The method is chosen at handoff (default by
    billing model) and must fit the billing model. `price`, `start` and `end` are the baseline the plan was built
    from: when a change order moves the line's price or dates, the next run re-baselines (new plan, cumulative
    catch-up in the first open period)."""

    contract_line = models.OneToOneField(
        "projects.ContractLine", on_delete=models.PROTECT, related_name="revenue_schedule"
    )
    project = models.ForeignKey("projects.Project", on_delete=models.PROTECT, related_name="revenue_schedules")
    client = models.ForeignKey("crm.Account", on_delete=models.PROTECT, related_name="revenue_schedules")
    method = models.CharField(max_length=14, choices=RecognitionMethod.choices)
    price = models.DecimalField(**AMOUNT_FIELD, help_text="The line's price when the plan was last built.")
    start = models.DateField()
    end = models.DateField()
    baseline = models.PositiveIntegerField(default=1, help_text="Bumped by each re-baseline (change order).")
    recognised = models.DecimalField(**AMOUNT_FIELD, default=0, help_text="Revenue posted to date.")
    provision = models.DecimalField(**AMOUNT_FIELD, default=0, help_text="Loss provision posted to date.")
    last_period = models.ForeignKey(
        "ledger.AccountingPeriod", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(method__in=_METHODS), name="ledger_revsched_method_valid"),
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="ledger_revsched_dates_ordered"),
            models.CheckConstraint(condition=Q(provision__gte=0), name="ledger_revsched_provision_nonneg"),
        ]
        indexes = [models.Index(fields=["project"], name="ledger_revsched_project_idx")]

    def __str__(self) -> str:
        return f"Schedule of line {self.contract_line_id} ({self.method})"


class RevenueScheduleLine(models.Model):
    """A planned amount for one month of a straight-line schedule; the months sum to the schedule's price."""

    schedule = models.ForeignKey(RevenueSchedule, on_delete=models.CASCADE, related_name="plan")
    month = models.DateField(help_text="First day of the month.")
    amount = models.DecimalField(**AMOUNT_FIELD)

    class Meta:
        ordering = ["schedule_id", "month"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "month"], name="ledger_revplan_one_per_month"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="ledger_revplan_amount_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.amount}"


class ProjectEstimate(models.Model):
    """The PM's estimate to complete a project from a date on (hours and cost); estimate at completion = actuals
    to date + this. Fixed-fee lines measured by percent complete read the latest estimate on or before the run's
    month end. Negative estimates are refused (here and in the service)."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="estimates")
    as_of = models.DateField()
    etc_hours = models.DecimalField(**HOURS_FIELD)
    etc_cost = models.DecimalField(**AMOUNT_FIELD, null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "-as_of"]
        constraints = [
            models.UniqueConstraint(fields=["project", "as_of"], name="ledger_estimate_one_per_day"),
            models.CheckConstraint(condition=Q(etc_hours__gte=0), name="ledger_estimate_hours_nonneg"),
            models.CheckConstraint(
                condition=Q(etc_cost__isnull=True) | Q(etc_cost__gte=0), name="ledger_estimate_cost_nonneg"
            ),
        ]

    def __str__(self) -> str:
        return f"ETC {self.etc_hours} h from {self.as_of}"


class RecognitionRun(models.Model):
    """One recognition run for a month (beat on the 1st, or finance on demand). Progress is committed per chunk
    of projects, so the page shows processed/total while it runs; errors are kept per contract line."""

    period = models.ForeignKey("ledger.AccountingPeriod", on_delete=models.PROTECT, related_name="recognition_runs")
    status = models.CharField(max_length=16, choices=RecognitionRunStatus.choices, default=RecognitionRunStatus.RUNNING)
    total = models.PositiveIntegerField(default=0, help_text="Contract lines in scope.")
    processed = models.PositiveIntegerField(default=0)
    posted_lines = models.PositiveIntegerField(default=0, help_text="Lines with a difference posted.")
    amount = models.DecimalField(**AMOUNT_FIELD, default=0, help_text="Net revenue posted by this run.")
    errors = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=_RUN_STATUSES), name="ledger_revrun_status_valid"),
        ]

    def __str__(self) -> str:
        return f"Recognition {self.period} #{self.pk}"

    @property
    def is_running(self) -> bool:
        return self.status == RecognitionRunStatus.RUNNING

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(self.processed * 100 / self.total)


class Recognition(models.Model):
    """What one run recognised for one schedule: the cumulative target through the run's month and the
    difference posted (into `period`, the first open period). Unique per schedule, period and cumulative
    `sequence`, so the same difference is never posted twice for a line and period."""

    schedule = models.ForeignKey(RevenueSchedule, on_delete=models.PROTECT, related_name="recognitions")
    run = models.ForeignKey(RecognitionRun, on_delete=models.PROTECT, related_name="recognitions")
    period = models.ForeignKey("ledger.AccountingPeriod", on_delete=models.PROTECT, related_name="+")
    sequence = models.PositiveSmallIntegerField(default=1)
    as_of = models.DateField()
    cumulative = models.DecimalField(**AMOUNT_FIELD, help_text="Revenue to date after this posting.")
    amount = models.DecimalField(**AMOUNT_FIELD, help_text="Difference posted (negative reduces revenue).")
    provision_amount = models.DecimalField(**AMOUNT_FIELD, default=0)
    entry = models.ForeignKey("ledger.JournalEntry", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["schedule_id", "period_id", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "period", "sequence"], name="ledger_recognition_once_per_line_period"
            ),
        ]
        indexes = [models.Index(fields=["period", "schedule"], name="ledger_recog_period_idx")]

    def __str__(self) -> str:
        return f"{self.schedule_id}@{self.period_id}: {self.amount}"


class PriceReduction(models.Model):
    """A cut of a project's price that the layer above granted: billing records one when it issues a credit note
    that credits a plain amount (not sources, which become billable again). Recognition lowers the effective
    price of the project's fixed-price lines by the cuts dated on or before the month end. One row per source
    document (`source`, e.g. "invoice:42"), so telling the ledger twice records one cut."""

    project = models.ForeignKey("projects.Project", on_delete=models.PROTECT, related_name="+")
    on = models.DateField(help_text="Date of the document that cut the price.")
    amount = models.DecimalField(**AMOUNT_FIELD, help_text="How much the price was cut (net, before tax).")
    source = models.CharField(max_length=100, unique=True, help_text="The document that cut it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "on", "id"]
        indexes = [models.Index(fields=["project", "on"], name="ledger_price_cut_project_idx")]

    def __str__(self) -> str:
        return f"{self.source}: -{self.amount} on {self.on}"


class RebilledCost(models.Model):
    """A cost the layer above re-bills to the client through a contract line: billing records one per re-billable
    line of a vendor bill when the bill is posted (its re-bill amount, in the contract's currency, dated at the
    bill's date). Recognition treats it like a re-billed expense: revenue of its contract line from that date,
    whatever the line's method (ledger.services.recognition). One row per source (`source`, e.g.
    "vendor_bill_line:42"), so telling the ledger twice records one cost; a vendor's credit that reverses it is
    recorded as its own row with a negative amount."""

    contract_line = models.ForeignKey("projects.ContractLine", on_delete=models.PROTECT, related_name="+")
    on = models.DateField(help_text="Date from which the cost is re-billable (the vendor bill's date).")
    amount = models.DecimalField(**AMOUNT_FIELD, help_text="What the client is billed, in the contract's currency.")
    source = models.CharField(max_length=100, unique=True, help_text="The document line that incurred it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["contract_line_id", "on", "id"]
        indexes = [models.Index(fields=["contract_line", "on"], name="ledger_rebilled_line_on_idx")]

    def __str__(self) -> str:
        return f"{self.source}: {self.amount} on {self.on}"
