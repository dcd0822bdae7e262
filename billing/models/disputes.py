"""Invoice disputes: a client or finance contests an invoice, or some of its lines."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from billing.choices import DISPUTE_OPEN_STATUSES, DisputeChannel, DisputeReason, DisputeStatus
from billing.models._common import ZERO_DEFAULT, in_choices
from billing.models.invoices import Invoice, InvoiceLine
from billing.models.payments import WriteOff
from crm.choices import CURRENCIES, DEFAULT_CURRENCY
from psa.core.history import tracked
from psa.core.money import AMOUNT_FIELD


@tracked()
class Dispute(models.Model):
    """A contested amount of one issued invoice, in the invoice's currency and gross (what the client holds
    back). While open it pauses dunning for that amount (billing.services.dunning). Resolved once, by a credit
    note (`credit_note`, `credited`), a rejection (`resolution_note` says why) or a write-off (`write_off`).
    At most one open dispute per invoice (partial unique index); the amount never exceeds the invoice's open
    balance when opened (billing.services.disputes)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="disputes")
    account = models.ForeignKey("crm.Account", on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=20, choices=DisputeStatus.choices, default=DisputeStatus.OPEN)
    reason = models.CharField(max_length=12, choices=DisputeReason.choices)
    description = models.TextField(blank=True)
    amount = models.DecimalField(**AMOUNT_FIELD)
    currency = models.CharField(max_length=3, choices=CURRENCIES, default=DEFAULT_CURRENCY)
    channel = models.CharField(max_length=8, choices=DisputeChannel.choices, default=DisputeChannel.FINANCE)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The finance user who resolves it.",
    )  # fmt: skip
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    opened_at = models.DateTimeField(auto_now_add=True)
    credited = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT, help_text="Gross credited by the resolution.")
    credit_note = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="resolved_disputes"
    )
    write_off = models.OneToOneField(WriteOff, null=True, blank=True, on_delete=models.PROTECT, related_name="dispute")
    resolution_note = models.CharField(max_length=500, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=in_choices("status", DisputeStatus), name="billing_dispute_status_valid"),
            models.CheckConstraint(condition=in_choices("reason", DisputeReason), name="billing_dispute_reason_valid"),
            models.CheckConstraint(
                condition=in_choices("channel", DisputeChannel), name="billing_dispute_channel_valid"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_dispute_amount_pos"),
            models.CheckConstraint(
                condition=Q(credited__gte=0) & Q(credited__lte=models.F("amount")),
                name="billing_dispute_credited_range",
            ),
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status__in=[s.value for s in DISPUTE_OPEN_STATUSES]),
                name="billing_dispute_one_open",
            ),
            # A resolved dispute says who resolved it and when; an open one does not.
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in DISPUTE_OPEN_STATUSES], resolved_at__isnull=True)
                | (~Q(status__in=[s.value for s in DISPUTE_OPEN_STATUSES]) & Q(resolved_at__isnull=False)),
                name="billing_dispute_resolved_when_closed",
            ),
            models.CheckConstraint(
                condition=~Q(status=DisputeStatus.CREDITED) | Q(credit_note__isnull=False),
                name="billing_dispute_credited_has_note",
            ),
            models.CheckConstraint(
                condition=~Q(status=DisputeStatus.REJECTED) | ~Q(resolution_note=""),
                name="billing_dispute_rejected_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[DisputeStatus.WRITE_OFF_PENDING, DisputeStatus.WRITTEN_OFF])
                | Q(write_off__isnull=False),
                name="billing_dispute_writeoff_linked",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "opened_at"], name="billing_dispute_status_idx"),
            models.Index(fields=["account", "status"], name="billing_dispute_account_idx"),
        ]

    def __str__(self) -> str:
        return f"Dispute {self.pk} on {self.invoice}"

    @property
    def is_open(self) -> bool:
        return self.status in DISPUTE_OPEN_STATUSES


class DisputeLine(models.Model):
    """One contested invoice line and the gross amount contested on it (the dispute's amount is their sum)."""

    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="lines")
    invoice_line = models.ForeignKey(InvoiceLine, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(**AMOUNT_FIELD)

    class Meta:
        ordering = ["dispute_id", "invoice_line_id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_disputeline_amount_pos"),
            models.UniqueConstraint(fields=["dispute", "invoice_line"], name="billing_disputeline_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} on line {self.invoice_line_id}"
