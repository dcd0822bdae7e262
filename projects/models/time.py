"""Staffing and time capture: consultants (capacity, skills, dated cost rates, time off), allocations, time
entries with their weekly submission, and expenses with receipts. Their statuses and kinds are in
projects.choices; writes go through projects.services.time / .staffing / .expenses.

Rules that fit one row are constraints here (hours in (0, 24], dates ordered, statuses valid, one entry per
consultant, project, task and day); rules across rows (24 h per day, allocated, inside project dates, not
edited after submission) live in the services, which lock the consultant row so they hold under concurrency.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from crm.choices import CURRENCIES, DEFAULT_CURRENCY
from crm.models import DeliveryRole
from projects.choices import AllocationKind, EntryStatus, ExpenseCategory, RebillPolicy, TimeOffKind
from psa.core.entities import entity_field
from psa.core.history import tracked
from psa.core.money import AMOUNT_FIELD, HOURS_FIELD, RATE_FIELD

_STATUSES = [s.value for s in EntryStatus]


class Skill(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


@tracked()
class Consultant(models.Model):
    """A bookable resource: the user who logs time, the primary delivery role (prices the hours), weekly
    capacity and the utilization target (percent of capacity expected to be billable)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="consultant")
    role = models.ForeignKey(DeliveryRole, on_delete=models.PROTECT, related_name="consultants")
    entity = entity_field(help_text="The employing legal entity.")
    weekly_capacity = models.DecimalField(**HOURS_FIELD, default=Decimal("40.00"))
    utilization_target = models.PositiveSmallIntegerField(default=75, help_text="Billable percent of capacity.")
    cost_currency = models.CharField(max_length=3, choices=CURRENCIES, default=DEFAULT_CURRENCY)
    vendor = models.ForeignKey(
        "crm.Vendor",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="subcontractors",
        help_text="Set for a subcontractor: the vendor who supplies and bills this person (its rate is the cost).",
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["user__last_name", "user__first_name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weekly_capacity__gte=0) & Q(weekly_capacity__lte=168), name="projects_consultant_capacity"
            ),
            models.CheckConstraint(condition=Q(utilization_target__lte=100), name="projects_consultant_target"),
        ]

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.get_username()

    @property
    def is_subcontractor(self) -> bool:
        return self.vendor_id is not None

    @property
    def daily_capacity(self) -> Decimal:
        return (self.weekly_capacity / 5).quantize(Decimal("0.01"))


class ConsultantSkill(models.Model):
    consultant = models.ForeignKey(Consultant, on_delete=models.CASCADE, related_name="skills")
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="+")
    level = models.PositiveSmallIntegerField(default=3, help_text="1 (aware) to 5 (expert).")

    class Meta:
        ordering = ["skill__name"]
        constraints = [
            models.UniqueConstraint(fields=["consultant", "skill"], name="projects_cskill_unique"),
            models.CheckConstraint(condition=Q(level__gte=1) & Q(level__lte=5), name="projects_cskill_level"),
        ]

    def __str__(self) -> str:
        return f"{self.skill} ({self.level})"


@tracked()
class CostRate(models.Model):
    """The hourly cost of a consultant from `valid_from` (inclusive) until the next rate starts."""

    consultant = models.ForeignKey(Consultant, on_delete=models.CASCADE, related_name="cost_rates")
    rate = models.DecimalField(**RATE_FIELD)
    valid_from = models.DateField()

    class Meta:
        ordering = ["consultant_id", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["consultant", "valid_from"], name="projects_costrate_unique"),
            models.CheckConstraint(condition=Q(rate__gte=0), name="projects_costrate_nonneg"),
        ]

    def __str__(self) -> str:
        return f"{self.rate} from {self.valid_from}"


class TimeOff(models.Model):
    """Holidays and leave: each weekday in the range takes `hours_per_day` off the consultant's capacity."""

    consultant = models.ForeignKey(Consultant, on_delete=models.CASCADE, related_name="time_off")
    kind = models.CharField(max_length=8, choices=TimeOffKind.choices, default=TimeOffKind.LEAVE)
    start_date = models.DateField()
    end_date = models.DateField()
    hours_per_day = models.DecimalField(**HOURS_FIELD, default=Decimal("8.00"))
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["start_date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="projects_timeoff_dates"),
            models.CheckConstraint(
                condition=Q(hours_per_day__gt=0) & Q(hours_per_day__lte=24), name="projects_timeoff_hours"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.start_date}..{self.end_date}"


class Allocation(models.Model):
    """A consultant booked on a project for hours per week between dates; soft = tentative, hard = confirmed.
    Time can only be logged on projects the consultant is allocated to on that day (either kind)."""

    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="allocations")
    consultant = models.ForeignKey(Consultant, on_delete=models.PROTECT, related_name="allocations")
    resource_request = models.ForeignKey(
        "projects.ResourceRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="allocations"
    )
    kind = models.CharField(max_length=4, choices=AllocationKind.choices, default=AllocationKind.SOFT)
    hours_per_week = models.DecimalField(**HOURS_FIELD)
    start_date = models.DateField()
    end_date = models.DateField()
    # Booked beyond the consultant's free hours in its window, confirmed by whoever allocated.
    overbooked = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["start_date", "id"]
        indexes = [models.Index(fields=["consultant", "start_date", "end_date"], name="projects_alloc_cons_dates")]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="projects_alloc_dates"),
            models.CheckConstraint(
                condition=Q(hours_per_week__gt=0) & Q(hours_per_week__lte=168), name="projects_alloc_hours"
            ),
            models.CheckConstraint(condition=Q(kind__in=["soft", "hard"]), name="projects_alloc_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.consultant} on {self.project_id}: {self.hours_per_week} h/wk ({self.kind})"


class TaskTerms(models.Model):
    """Delivery terms of a task: time on a non-billable task (internal rework, pre-sales) is never billed even
    on a time-and-materials line. A task without terms is billable."""

    task = models.OneToOneField("projects.Task", on_delete=models.CASCADE, related_name="terms")
    billable = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.task_id} billable={self.billable}"


class Timesheet(models.Model):
    """One consultant's week (Monday): when it was submitted and how it stands. Entries carry their own
    status (each project's PM decides their own entries); this row is the submission record."""

    consultant = models.ForeignKey(Consultant, on_delete=models.CASCADE, related_name="timesheets")
    week_start = models.DateField()
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-week_start"]
        constraints = [models.UniqueConstraint(fields=["consultant", "week_start"], name="projects_timesheet_week")]

    def __str__(self) -> str:
        return f"{self.consultant_id} week of {self.week_start}"


class TimeEntry(models.Model):
    """Hours on one project (and task) on one day. Rates, the contract line, the rate card line used and the
    billable flag are copied here at approval; billing and revenue never re-read the rate card."""

    consultant = models.ForeignKey(Consultant, on_delete=models.PROTECT, related_name="time_entries")
    project = models.ForeignKey("projects.Project", on_delete=models.PROTECT, related_name="time_entries")
    task = models.ForeignKey("projects.Task", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    hours = models.DecimalField(**HOURS_FIELD)
    note = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=EntryStatus.choices, default=EntryStatus.DRAFT)
    rejection_reason = models.CharField(max_length=500, blank=True)
    # snapshot at approval
    contract_line = models.ForeignKey(
        "projects.ContractLine", null=True, blank=True, on_delete=models.PROTECT, related_name="time_entries"
    )
    rate_card_line = models.ForeignKey(
        "projects.RateCardLine", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    billable = models.BooleanField(default=False)
    bill_rate = models.DecimalField(**RATE_FIELD, null=True, blank=True)
    cost_rate = models.DecimalField(**RATE_FIELD, null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source_key = models.CharField(max_length=100, blank=True, help_text="External id of an imported entry.")
    opening = models.BooleanField(
        default=False,
        db_default=False,  # rows written by raw SQL (the time import's COPY) are not opening ones
        help_text="Approved but unbilled time brought in at go-live: its cost is in the previous system's books.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["date", "id"]
        indexes = [
            models.Index(fields=["consultant", "date"], name="projects_te_cons_date"),
            models.Index(fields=["project", "status", "date"], name="projects_te_proj_status"),
            models.Index(fields=["status", "date"], name="projects_te_status_date"),
            # Date windows across every consultant (the exception queue's time outliers, daily totals): led by
            # the date, with the hours so the window is read from the index alone.
            models.Index(fields=["date", "consultant", "hours"], name="projects_te_date_cons_hours"),
            # What changed since a time (billing's approved-time summary refresh and its freshness check).
            models.Index(fields=["updated_at"], name="projects_te_updated"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(hours__gt=0) & Q(hours__lte=24), name="projects_te_hours_range"),
            models.CheckConstraint(condition=Q(status__in=_STATUSES), name="projects_te_status_valid"),
            models.CheckConstraint(
                condition=~Q(status="approved") | (Q(approved_at__isnull=False) & Q(bill_rate__isnull=False)),
                name="projects_te_approved_has_rates",
            ),
            # One entry per cell (consultant, project, task, day); "no task" is a cell too. Two partial
            # indexes rather than NULLS NOT DISTINCT, which SQLite lacks.
            models.UniqueConstraint(
                fields=["consultant", "project", "task", "date"],
                condition=Q(task__isnull=False),
                name="projects_te_one_per_task_cell",
            ),
            models.UniqueConstraint(
                fields=["consultant", "project", "date"],
                condition=Q(task__isnull=True),
                name="projects_te_one_per_project_cell",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.hours} h"


class ExpensePolicy(models.Model):
    """How a contract line re-bills expenses: at cost, with a markup percent, or not at all. A line without
    a policy re-bills at cost."""

    contract_line = models.OneToOneField(
        "projects.ContractLine", on_delete=models.CASCADE, related_name="expense_policy"
    )
    policy = models.CharField(max_length=8, choices=RebillPolicy.choices, default=RebillPolicy.AT_COST)
    markup_percent = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("0.00"))

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(markup_percent__gte=0) & Q(markup_percent__lte=1000), name="projects_exppolicy_markup"
            )
        ]

    def __str__(self) -> str:
        return f"{self.policy} {self.markup_percent}%"


def receipt_path(instance: "Expense", filename: str) -> str:
    return f"receipts/{instance.consultant_id}/{timezone.now():%Y/%m}/{filename}"


class Expense(models.Model):
    """A cost a consultant paid for a project, with its receipt. The re-bill amount is fixed at approval from
    the contract line's policy."""

    consultant = models.ForeignKey(Consultant, on_delete=models.PROTECT, related_name="expenses")
    project = models.ForeignKey("projects.Project", on_delete=models.PROTECT, related_name="expenses")
    date = models.DateField()
    category = models.CharField(max_length=10, choices=ExpenseCategory.choices)
    description = models.CharField(max_length=200, blank=True)
    amount = models.DecimalField(**AMOUNT_FIELD)
    currency = models.CharField(max_length=3, choices=CURRENCIES)
    billable = models.BooleanField(default=True)
    receipt = models.FileField(upload_to=receipt_path, blank=True)
    status = models.CharField(max_length=10, choices=EntryStatus.choices, default=EntryStatus.DRAFT)
    rejection_reason = models.CharField(max_length=500, blank=True)
    contract_line = models.ForeignKey(
        "projects.ContractLine", null=True, blank=True, on_delete=models.PROTECT, related_name="expenses"
    )
    rebill_policy = models.CharField(max_length=8, choices=RebillPolicy.choices, blank=True)
    markup_percent = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("0.00"))
    rebill_amount = models.DecimalField(**AMOUNT_FIELD, null=True, blank=True)
    opening = models.BooleanField(
        default=False,
        db_default=False,  # rows written by raw SQL (the time import's COPY) are not opening ones
        help_text="Approved but unbilled expense brought in at go-live: its cost is in the previous system's books.",
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["project", "status"], name="projects_exp_proj_status")]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="projects_exp_amount_pos"),
            models.CheckConstraint(condition=Q(status__in=_STATUSES), name="projects_exp_status_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.amount} {self.currency}"
