"""Engagement data: projects and what delivery and finance need from a won deal."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from crm.choices import CURRENCIES, DEFAULT_CURRENCY
from projects.choices import ProjectStatus
from psa.core.money import AMOUNT_FIELD, HOURS_FIELD


class Project(models.Model):
    """A delivery engagement for one account, usually created by winning an opportunity."""

    code = models.CharField(max_length=30, unique=True)
    name = models.CharField(max_length=200)
    account = models.ForeignKey("crm.Account", on_delete=models.PROTECT, related_name="projects")
    project_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="managed_projects"
    )
    status = models.CharField(max_length=12, choices=ProjectStatus.choices, default=ProjectStatus.PLANNED)
    start_date = models.DateField(null=True, blank=True)
    end_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3, choices=CURRENCIES, default=DEFAULT_CURRENCY)
    budget_hours = models.DecimalField(**HOURS_FIELD, default=0)
    budget_amount = models.DecimalField(**AMOUNT_FIELD, default=0)
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
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
