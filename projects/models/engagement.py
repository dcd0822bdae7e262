"""Engagement data: templates, projects, tasks, milestones, contracts, rate cards, resource requests and change
orders. Single-row rules are constraints here; writes go through projects.services."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from crm.choices import CURRENCIES, DEFAULT_CURRENCY, BillingModel, ServiceType
from crm.models import DeliveryRole  # the delivery role catalogue lives in crm (the lowest app needing it)
from projects.choices import (
    ChangeAction,
    ChangeOrderStatus,
    MilestoneStatus,
    ProjectStatus,
    ResourceRequestStatus,
    TaskStatus,
)
from psa.core.entities import entity_field
from psa.core.history import tracked
from psa.core.money import AMOUNT_FIELD, HOURS_FIELD, RATE_FIELD

_BILLING_MODELS = [b.value for b in BillingModel]


class ProjectTemplate(models.Model):
    """The shape of a project for one service type: its tasks and delivery milestones."""

    name = models.CharField(max_length=100)
    service_type = models.CharField(max_length=20, choices=ServiceType.choices, unique=True)
    code_prefix = models.CharField(max_length=8, default="PRJ")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class TaskTemplate(models.Model):
    template = models.ForeignKey(ProjectTemplate, on_delete=models.CASCADE, related_name="task_templates")
    name = models.CharField(max_length=200)
    order = models.PositiveSmallIntegerField(default=1)
    share_percent = models.PositiveSmallIntegerField(default=0, help_text="Share of the sold hours, percent.")

    class Meta:
        ordering = ["order", "id"]
        constraints = [models.CheckConstraint(condition=Q(share_percent__lte=100), name="projects_tasktpl_share")]

    def __str__(self) -> str:
        return self.name


class MilestoneTemplate(models.Model):
    """A delivery checkpoint (no amount) placed `offset_days` after the service start."""

    template = models.ForeignKey(ProjectTemplate, on_delete=models.CASCADE, related_name="milestone_templates")
    name = models.CharField(max_length=200)
    order = models.PositiveSmallIntegerField(default=1)
    offset_days = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]

    def __str__(self) -> str:
        return self.name


class Project(models.Model):
    """A delivery engagement for one account, usually created by winning an opportunity."""

    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=200)
    account = models.ForeignKey("crm.Account", on_delete=models.PROTECT, related_name="projects")
    entity = entity_field(help_text="The legal entity that delivers it and keeps its books.")
    project_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_projects"
    )
    status = models.CharField(max_length=12, choices=ProjectStatus.choices, default=ProjectStatus.PLANNED)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3, choices=CURRENCIES, default=DEFAULT_CURRENCY)
    budget_hours = models.DecimalField(**HOURS_FIELD, default=0)
    budget_amount = models.DecimalField(**AMOUNT_FIELD, default=0)
    alert_warning_percent = models.PositiveSmallIntegerField(
        "burn warning at (%)", default=80, help_text="Alert when actual reaches this share of the budget."
    )
    alert_over_percent = models.PositiveSmallIntegerField(
        "burn alert at (%)", default=100, help_text="Alert when actual reaches this share of the budget."
    )
    template = models.ForeignKey(ProjectTemplate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in ProjectStatus]), name="projects_project_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True)
                | Q(start_date__isnull=True)
                | Q(end_date__gte=models.F("start_date")),
                name="projects_project_dates_ordered",
            ),
            models.CheckConstraint(
                condition=Q(budget_hours__gte=0) & Q(budget_amount__gte=0), name="projects_project_budget_nonneg"
            ),
            models.CheckConstraint(
                condition=Q(alert_warning_percent__gte=1) & Q(alert_warning_percent__lt=models.F("alert_over_percent")),
                name="projects_project_alert_levels_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ProjectHistory(models.Model):
    """Status changes of a project (who, when, from, to)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    from_status = models.CharField(max_length=12, blank=True)
    to_status = models.CharField(max_length=12)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.project_id}: {self.from_status} -> {self.to_status}"


class Task(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="tasks")
    name = models.CharField(max_length=200)
    order = models.PositiveSmallIntegerField(default=1)
    budget_hours = models.DecimalField(**HOURS_FIELD, default=0)
    status = models.CharField(max_length=8, choices=TaskStatus.choices, default=TaskStatus.OPEN)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=[s.value for s in TaskStatus]), name="projects_task_status"),
            models.CheckConstraint(condition=Q(budget_hours__gte=0), name="projects_task_hours_nonneg"),
        ]

    def __str__(self) -> str:
        return self.name


@tracked()
class Contract(models.Model):
    """The sold terms of an engagement. One per won opportunity (unique), so a win can never make two."""

    number = models.CharField(max_length=30, unique=True)
    account = models.ForeignKey("crm.Account", on_delete=models.PROTECT, related_name="contracts")
    entity = entity_field(help_text="The legal entity that sells: it invoices the contract and books its revenue.")
    opportunity = models.OneToOneField(
        "crm.Opportunity", null=True, blank=True, on_delete=models.PROTECT, related_name="contract"
    )
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="contracts")
    currency = models.CharField(max_length=3, choices=CURRENCIES, default=DEFAULT_CURRENCY)
    payment_terms_days = models.PositiveSmallIntegerField()
    start_date = models.DateField()
    end_date = models.DateField()
    signed_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-signed_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="projects_contract_dates_ordered"),
        ]

    def __str__(self) -> str:
        return self.number


@tracked()
class RateCard(models.Model):
    name = models.CharField(max_length=100, unique=True)
    currency = models.CharField(max_length=3, choices=CURRENCIES, default=DEFAULT_CURRENCY)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


@tracked()
class RateCardLine(models.Model):
    """A dated rate of one role on one card. Lines of one role never overlap (service check, and an exclusion
    constraint on PostgreSQL, migration 0003)."""

    rate_card = models.ForeignKey(RateCard, on_delete=models.CASCADE, related_name="lines")
    role = models.ForeignKey(DeliveryRole, on_delete=models.PROTECT, related_name="rate_lines")
    rate = models.DecimalField(**RATE_FIELD)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, help_text="Inclusive; empty = open-ended.")

    class Meta:
        ordering = ["role__name", "valid_from"]
        constraints = [
            models.CheckConstraint(condition=Q(rate__gte=0), name="projects_ratecardline_rate_nonneg"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="projects_ratecardline_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} {self.rate} from {self.valid_from}"


@tracked()
class ContractLine(models.Model):
    """One sold term: billing model, price or rate x hours, cap, rate card and schedule dates."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=1)
    description = models.CharField(max_length=200)
    billing_model = models.CharField(max_length=14, choices=BillingModel.choices)
    hours = models.DecimalField(**HOURS_FIELD, default=0)
    rate = models.DecimalField(**RATE_FIELD, null=True, blank=True)
    price = models.DecimalField(**AMOUNT_FIELD, default=Decimal("0.00"), help_text="Value of the line.")
    cap = models.DecimalField(**AMOUNT_FIELD, null=True, blank=True)
    rate_card = models.ForeignKey(RateCard, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    start_date = models.DateField()
    end_date = models.DateField()
    source_line = models.ForeignKey(
        "crm.OpportunityLine", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Retainage (holdback): the share of each invoice line of this contract line the client keeps back until
    # the project is accepted; billing holds it on the retainage receivable and bills it by a release invoice.
    retainage_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0.00"),
        db_default=Decimal("0.00"),
        help_text="Percent of each invoice line's net held back until acceptance (0: none).",
    )

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(billing_model__in=_BILLING_MODELS), name="projects_cline_model_valid"),
            models.CheckConstraint(
                condition=Q(retainage_percent__gte=0) & Q(retainage_percent__lt=100),
                name="projects_cline_retainage_range",
            ),
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="projects_cline_dates_ordered"),
            models.CheckConstraint(
                condition=Q(hours__gte=0) & Q(price__gte=0) & (Q(cap__isnull=True) | Q(cap__gte=0)),
                name="projects_cline_values_nonneg",
            ),
        ]

    def __str__(self) -> str:
        return self.description


class Milestone(models.Model):
    """A billing or delivery milestone: planned → achieved → accepted (billing invoices accepted ones)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones")
    contract_line = models.ForeignKey(
        ContractLine, null=True, blank=True, on_delete=models.PROTECT, related_name="milestones"
    )
    name = models.CharField(max_length=200)
    amount = models.DecimalField(**AMOUNT_FIELD, default=Decimal("0.00"))
    due_date = models.DateField()
    status = models.CharField(max_length=10, choices=MilestoneStatus.choices, default=MilestoneStatus.PLANNED)
    achieved_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in MilestoneStatus]), name="projects_milestone_status_valid"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="projects_milestone_amount_nonneg"),
        ]

    def __str__(self) -> str:
        return self.name


class MilestoneHistory(models.Model):
    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    from_status = models.CharField(max_length=10)
    to_status = models.CharField(max_length=10)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.milestone_id}: {self.from_status} -> {self.to_status}"


class ResourceRequest(models.Model):
    """Hours of a role a project needs over dates; from the deal's role demand, filled by staffing later."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="resource_requests")
    role = models.ForeignKey(DeliveryRole, on_delete=models.PROTECT, related_name="resource_requests")
    hours = models.DecimalField(**HOURS_FIELD)
    start_date = models.DateField()
    end_date = models.DateField()
    status = models.CharField(max_length=10, choices=ResourceRequestStatus.choices, default=ResourceRequestStatus.OPEN)
    source_demand = models.ForeignKey(
        "crm.RoleDemand", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["start_date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(hours__gt=0), name="projects_rr_hours_pos"),
            models.CheckConstraint(condition=Q(end_date__gte=F("start_date")), name="projects_rr_dates_ordered"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in ResourceRequestStatus]), name="projects_rr_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} {self.hours} h"


@tracked()
class ChangeOrder(models.Model):
    """Adds or amends contract lines; on approval the contract, milestones and project budget follow."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="change_orders")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    reason = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=ChangeOrderStatus.choices, default=ChangeOrderStatus.DRAFT)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["contract_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "number"], name="projects_changeorder_number_unique"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in ChangeOrderStatus]), name="projects_changeorder_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"CO-{self.number} {self.title}"


@tracked()
class ChangeOrderLine(models.Model):
    """One change: a new line (`add`) or deltas to an existing one (`amend`), optionally with a milestone."""

    change_order = models.ForeignKey(ChangeOrder, on_delete=models.CASCADE, related_name="lines")
    action = models.CharField(max_length=6, choices=ChangeAction.choices)
    contract_line = models.ForeignKey(
        ContractLine, null=True, blank=True, on_delete=models.PROTECT, related_name="changes"
    )
    description = models.CharField(max_length=200, blank=True)
    billing_model = models.CharField(max_length=14, choices=BillingModel.choices, blank=True)
    rate = models.DecimalField(**RATE_FIELD, null=True, blank=True)
    hours_delta = models.DecimalField(**HOURS_FIELD, default=0)
    value_delta = models.DecimalField(**AMOUNT_FIELD, default=Decimal("0.00"))
    new_end_date = models.DateField(null=True, blank=True)
    milestone_name = models.CharField(max_length=200, blank=True)
    milestone_amount = models.DecimalField(**AMOUNT_FIELD, null=True, blank=True)
    milestone_due_date = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(action=ChangeAction.ADD) & Q(contract_line__isnull=True))
                | (Q(action=ChangeAction.AMEND) & Q(contract_line__isnull=False)),
                name="projects_coline_action_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.description or self.contract_line_id}"


class ChangeOrderHistory(models.Model):
    change_order = models.ForeignKey(ChangeOrder, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.change_order_id}: {self.from_status} -> {self.to_status}"
