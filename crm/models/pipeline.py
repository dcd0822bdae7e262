"""The pipeline: delivery roles, stages, opportunities with their lines, milestones and role demands, and the
stage history."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from crm.choices import (
    CURRENCIES,
    DEFAULT_CURRENCY,
    BillingModel,
    OpportunityStatus,
    ServiceType,
    StageKind,
)
from crm.models.accounts import Account
from psa.core.money import AMOUNT_FIELD, HOURS_FIELD, RATE_FIELD, line_net, round_money


class DeliveryRole(models.Model):
    """A delivery role (e.g. "Senior consultant"). Sales demands hours by role and rate cards price by role.

    It lives in crm, the lowest app that needs it (role demand on a deal); projects uses it for rate cards,
    resource requests and consultants. Not to be confused with psa.core.roles.Role, the permission roles of users.
    """

    name = models.CharField(max_length=100, unique=True)
    code = models.SlugField(max_length=40, unique=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    """A configurable pipeline stage with the probability a deal gets when it enters it.

    Exactly the `open` stages appear as board columns; a `won` and a `lost` stage close deals.
    """

    name = models.CharField(max_length=60, unique=True)
    order = models.PositiveSmallIntegerField(unique=True)
    default_probability = models.PositiveSmallIntegerField(help_text="Percent, 0-100.")
    kind = models.CharField(max_length=8, choices=StageKind.choices, default=StageKind.OPEN)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["order"]
        constraints = [
            models.CheckConstraint(condition=Q(default_probability__lte=100), name="crm_stage_probability_max_100"),
            models.CheckConstraint(condition=Q(kind__in=[k.value for k in StageKind]), name="crm_stage_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.name


class Opportunity(models.Model):
    """A deal. `amount` is the sum of its lines' values, kept by crm.services whenever lines change; the
    forecast weights it by `probability` (defaulted from the stage, overridable)."""

    name = models.CharField(max_length=200)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="opportunities")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="opportunities")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="opportunities")
    status = models.CharField(max_length=8, choices=OpportunityStatus.choices, default=OpportunityStatus.OPEN)
    currency = models.CharField(max_length=3, choices=CURRENCIES, default=DEFAULT_CURRENCY)
    amount = models.DecimalField(**AMOUNT_FIELD, default=Decimal("0.00"), editable=False)
    probability = models.PositiveSmallIntegerField(help_text="Percent, 0-100; defaults from the stage.")
    expected_close_date = models.DateField()
    service_start = models.DateField(null=True, blank=True)
    service_end = models.DateField(null=True, blank=True)
    service_type = models.CharField(max_length=20, choices=ServiceType.choices, blank=True)
    payment_terms_days = models.PositiveSmallIntegerField(null=True, blank=True)
    entity = models.ForeignKey(
        "core.LegalEntity",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The legal entity that sells the deal; empty: the account's, else the sales owner's.",
    )
    delivery_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The project manager who will run the engagement once won.",
    )
    lost_reason = models.CharField(max_length=300, blank=True)
    # Finance's approval to win this deal although its account is on credit hold (crm.services.credit); it
    # counts for the hold it was given under only.
    credit_approved_hold = models.ForeignKey(
        "CreditHold", null=True, blank=True, on_delete=models.PROTECT, related_name="approved_deals"
    )
    credit_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    credit_approved_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    external_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["expected_close_date", "id"]
        verbose_name_plural = "opportunities"
        permissions = [("manage_pipeline", "Can move, win and lose any deal (sales manager)")]
        constraints = [
            models.CheckConstraint(condition=Q(probability__lte=100), name="crm_opportunity_probability_max_100"),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in OpportunityStatus]), name="crm_opportunity_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(service_end__isnull=True)
                | Q(service_start__isnull=True)
                | Q(service_end__gte=models.F("service_start")),
                name="crm_opportunity_service_dates_ordered",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="crm_opportunity_amount_nonneg"),
            models.CheckConstraint(
                condition=~Q(status=OpportunityStatus.LOST) | ~Q(lost_reason=""), name="crm_opportunity_lost_has_reason"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "expected_close_date"], name="crm_opp_status_close_idx"),
            models.Index(fields=["owner", "status"], name="crm_opp_owner_status_idx"),
            models.Index(fields=["stage", "status"], name="crm_opp_stage_status_idx"),
            # The board's first cards of each stage: a per-stage LIMIT reads only those rows (crm.selectors.board).
            models.Index(
                fields=["stage", "expected_close_date", "id"],
                condition=Q(status="open"),
                name="crm_opp_open_stage_close_idx",
            ),
            # The opportunity list's default sort (closing soonest, id breaking ties).
            models.Index(fields=["expected_close_date", "id"], name="crm_opp_close_id_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def weighted_amount(self) -> Decimal:
        return round_money(self.amount * self.probability / Decimal(100))


class OpportunityLine(models.Model):
    """What is sold. Value: T&M = round(hours x rate), capped at `cap` when given; other models = `price`."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=1)
    description = models.CharField(max_length=200)
    billing_model = models.CharField(max_length=14, choices=BillingModel.choices, blank=True)
    hours = models.DecimalField(**HOURS_FIELD, null=True, blank=True, help_text="Estimated hours (T&M).")
    rate = models.DecimalField(**RATE_FIELD, null=True, blank=True, help_text="Hourly rate (T&M).")
    price = models.DecimalField(**AMOUNT_FIELD, null=True, blank=True, help_text="Price (fixed fee and others).")
    cap = models.DecimalField(**AMOUNT_FIELD, null=True, blank=True, help_text="Not-to-exceed amount (T&M).")
    amount = models.DecimalField(**AMOUNT_FIELD, default=Decimal("0.00"), editable=False)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(billing_model__in=["", *[b.value for b in BillingModel]]),
                name="crm_oppline_billing_model_valid",
            ),
            models.CheckConstraint(
                condition=(Q(hours__isnull=True) | Q(hours__gte=0))
                & (Q(rate__isnull=True) | Q(rate__gte=0))
                & (Q(price__isnull=True) | Q(price__gte=0))
                & (Q(cap__isnull=True) | Q(cap__gte=0)),
                name="crm_oppline_values_nonneg",
            ),
        ]

    def __str__(self) -> str:
        return self.description

    def compute_amount(self) -> Decimal:
        if self.billing_model == BillingModel.TIME_AND_MATERIALS:
            if self.hours is None or self.rate is None:
                return Decimal("0.00")
            value = line_net(self.hours, self.rate)
            return min(value, self.cap) if self.cap is not None else value
        return round_money(self.price) if self.price is not None else Decimal("0.00")


class LineMilestone(models.Model):
    """A billing milestone sold on a milestone line: amount and due date."""

    line = models.ForeignKey(OpportunityLine, on_delete=models.CASCADE, related_name="milestones")
    name = models.CharField(max_length=200)
    amount = models.DecimalField(**AMOUNT_FIELD)
    due_date = models.DateField()

    class Meta:
        ordering = ["due_date", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="crm_linemilestone_amount_pos")]

    def __str__(self) -> str:
        return self.name


class RoleDemand(models.Model):
    """Hours of a role a deal needs over a date range; becomes a resource request when the deal is won."""

    line = models.ForeignKey(OpportunityLine, on_delete=models.CASCADE, related_name="role_demands")
    role = models.ForeignKey(DeliveryRole, on_delete=models.PROTECT, related_name="demands")
    hours = models.DecimalField(**HOURS_FIELD)
    start_date = models.DateField()
    end_date = models.DateField()

    class Meta:
        ordering = ["start_date", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(hours__gt=0), name="crm_roledemand_hours_pos"),
            models.CheckConstraint(
                condition=Q(end_date__gte=models.F("start_date")), name="crm_roledemand_dates_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} {self.hours} h"


class StageHistory(models.Model):
    """One row per stage or status change of a deal: who, when, from, to. Creation writes the first row."""

    opportunity = models.ForeignKey(Opportunity, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    from_stage = models.ForeignKey(Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    from_status = models.CharField(max_length=8, blank=True)
    to_status = models.CharField(max_length=8, choices=OpportunityStatus.choices)
    probability = models.PositiveSmallIntegerField()
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "stage history"
        indexes = [models.Index(fields=["opportunity", "at"], name="crm_stagehist_opp_at_idx")]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage_id} → {self.to_stage_id}"
