"""Billing runs (invoice batches) and their items, one per contract."""

from django.conf import settings
from django.db import models

from billing.choices import ItemStatus, RunScope, RunStatus
from billing.models._common import in_choices


class BillingRun(models.Model):
    """An invoice batch: a period end and a scope. Preview claims nothing; starting it creates one item per
    contract with something to bill, processed by a job one contract per transaction."""

    key = models.CharField(max_length=255, null=True, blank=True, unique=True, help_text="Idempotency key.")
    fingerprint = models.CharField(max_length=64, blank=True)
    period_end = models.DateField()
    scope = models.CharField(max_length=10, choices=RunScope.choices, default=RunScope.ALL)
    account_ids = models.JSONField(default=list, blank=True)
    project_ids = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(
        null=True, blank=True, help_text="When the job was last queued (start, retry, or resumed after a dead worker)."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=in_choices("status", RunStatus), name="billing_run_status_valid"),
            models.CheckConstraint(condition=in_choices("scope", RunScope), name="billing_run_scope_valid"),
        ]

    def __str__(self) -> str:
        return f"Run {self.pk} to {self.period_end:%Y-%m-%d}"


class BillingRunItem(models.Model):
    run = models.ForeignKey(BillingRun, on_delete=models.CASCADE, related_name="items")
    contract = models.ForeignKey("projects.Contract", on_delete=models.PROTECT, related_name="+")
    kinds = models.JSONField(
        default=list, blank=True, help_text="The source kinds found at start; processing asks only their providers."
    )
    status = models.CharField(max_length=10, choices=ItemStatus.choices, default=ItemStatus.PENDING)
    invoice = models.ForeignKey("Invoice", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    credit_hold = models.BooleanField(
        default=False, db_default=False, help_text="Invoiced while the account was on credit hold (flagged)."
    )
    # The lease of the worker on the item: taken before the item is processed and renewed while the worker
    # lives; an item whose lease expired while pending belongs to a dead worker (see billing.services.runs).
    lease_owner = models.CharField(max_length=100, blank=True, db_default="")
    leased_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "contract_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "contract"], name="billing_runitem_unique"),
            models.CheckConstraint(condition=in_choices("status", ItemStatus), name="billing_runitem_status_valid"),
        ]
        # The next pending item in contract order straight from the index (the lease, once per contract), and the
        # run's counts by status (its progress).
        indexes = [models.Index(fields=["run", "status", "contract"], name="billing_runitem_next_idx")]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.contract_id} {self.status}"
