"""Go-live: a firm moving in with its history. One GoLive per legal entity and cut-over date; each file applied
to it is a GoLiveImport, and every object an apply created is a GoLiveObject, so the go-live can be rolled back
as a whole until it is complete (billing.services.golive)."""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q

from billing.choices import GoLiveStatus
from billing.models._common import in_choices
from psa.core.money import AMOUNT_FIELD


class GoLive(models.Model):
    entity = models.ForeignKey("core.LegalEntity", on_delete=models.PROTECT, related_name="+")
    cutover_date = models.DateField(help_text="The first day in PSA: everything before it is imported history.")
    status = models.CharField(max_length=12, choices=GoLiveStatus.choices, default=GoLiveStatus.DRAFT)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rolled_back_at = models.DateTimeField(null=True, blank=True)
    rolled_back_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=in_choices("status", GoLiveStatus), name="golive_status_valid"),
            # One go-live at a time per entity: a rolled-back one may be followed by another.
            models.UniqueConstraint(
                fields=["entity"], condition=~Q(status=GoLiveStatus.ROLLED_BACK), name="golive_one_per_entity"
            ),
        ]

    def __str__(self) -> str:
        return f"Go-live {self.pk} at {self.cutover_date:%Y-%m-%d}"


class GoLiveImport(models.Model):
    """One applied file: what it was, who applied it, and the report of the apply."""

    golive = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="imports")
    kind = models.CharField(max_length=30)
    file_name = models.CharField(max_length=255, blank=True)
    file_digest = models.CharField(max_length=64, help_text="sha256 of the file")
    row_count = models.PositiveIntegerField(default=0)
    applied_at = models.DateTimeField(auto_now_add=True)
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    report = models.JSONField(default=dict, blank=True)
    rolled_back_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["golive_id", "applied_at", "id"]
        indexes = [models.Index(fields=["golive", "kind"], name="golive_import_kind_idx")]

    def __str__(self) -> str:
        return f"{self.kind} import {self.pk} of go-live {self.golive_id}"


class GoLiveObject(models.Model):
    """An object an import created, in creation order (`seq`), so a rollback removes them newest first."""

    golive = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="created_objects")
    golive_import = models.ForeignKey(GoLiveImport, on_delete=models.CASCADE, related_name="created_objects")
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.BigIntegerField()
    seq = models.PositiveIntegerField()

    class Meta:
        ordering = ["golive_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["golive", "seq"], name="golive_object_seq_unique"),
            models.UniqueConstraint(fields=["content_type", "object_id"], name="golive_object_once"),
        ]

    def __str__(self) -> str:
        return f"{self.content_type_id}:{self.object_id} (go-live {self.golive_id})"


class GoLiveAccountMap(models.Model):
    """The chart mapping of a go-live: an account code of the previous system -> ours. The files after it (opening
    balances, balance history) name accounts by either code."""

    golive = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="account_maps")
    golive_import = models.ForeignKey(GoLiveImport, on_delete=models.CASCADE, related_name="+")
    source_code = models.CharField(max_length=40)
    source_name = models.CharField(max_length=200, blank=True)
    account = models.ForeignKey("ledger.LedgerAccount", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["golive_id", "source_code"]
        constraints = [models.UniqueConstraint(fields=["golive", "source_code"], name="golive_map_code_unique")]

    def __str__(self) -> str:
        return f"{self.source_code} -> {self.account_id}"


class GoLiveBalance(models.Model):
    """One row of the source trial balance at the cut-over, as the file gave it: what the reconciliation compares
    the books with, account by account, naming the row."""

    golive = models.ForeignKey(GoLive, on_delete=models.CASCADE, related_name="balances")
    golive_import = models.ForeignKey(GoLiveImport, on_delete=models.CASCADE, related_name="+")
    row = models.PositiveIntegerField(help_text="The row in the file (the header is row 1).")
    source_code = models.CharField(max_length=40)
    account = models.ForeignKey("ledger.LedgerAccount", on_delete=models.PROTECT, related_name="+")
    debit = models.DecimalField(**AMOUNT_FIELD, default=0)
    credit = models.DecimalField(**AMOUNT_FIELD, default=0)

    class Meta:
        ordering = ["golive_id", "row"]

    def __str__(self) -> str:
        return f"{self.source_code} {self.debit - self.credit}"
