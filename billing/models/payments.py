"""Payments, their allocations to invoices, write-offs and dunning reminders."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from billing.choices import PaymentMethod, WriteOffStatus
from billing.models._common import ZERO_DEFAULT, in_choices
from billing.models.invoices import Invoice
from crm.choices import CURRENCIES, DEFAULT_CURRENCY
from psa.core.entities import entity_field
from psa.core.history import tracked
from psa.core.money import AMOUNT_FIELD, FX_RATE_FIELD


@tracked()
class Payment(models.Model):
    """Money received from an account; allocated to invoices, the rest kept as unapplied credit."""

    account = models.ForeignKey("crm.Account", on_delete=models.PROTECT, related_name="payments")
    entity = entity_field(help_text="The legal entity that received the money (its bank account and books).")
    received_on = models.DateField()
    amount = models.DecimalField(**AMOUNT_FIELD)
    currency = models.CharField(max_length=3, choices=CURRENCIES, default=DEFAULT_CURRENCY)
    method = models.CharField(max_length=14, choices=PaymentMethod.choices, default=PaymentMethod.BANK_TRANSFER)
    reference = models.CharField(max_length=200, blank=True)
    bank_ref = models.CharField(max_length=100, null=True, blank=True, unique=True, help_text="Bank import id.")
    amount_allocated = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT)
    # Converted at the rate of the received date (rate 1, no rate date, in the functional currency).
    fx_rate = models.DecimalField(**FX_RATE_FIELD, null=True, blank=True, help_text="Rate of the received date.")
    fx_rate_date = models.DateField(null=True, blank=True)
    functional_amount = models.DecimalField(**AMOUNT_FIELD, null=True, blank=True)
    functional_allocated = models.DecimalField(
        **AMOUNT_FIELD,
        **ZERO_DEFAULT,
        db_default=Decimal("0.00"),
        help_text="The functional value of the allocated part, at the payment's rate.",
    )
    journal_entry = models.ForeignKey(
        "ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_payment_amount_pos"),
            models.CheckConstraint(
                condition=Q(amount_allocated__gte=0) & Q(amount_allocated__lte=F("amount")),
                name="billing_payment_not_overallocated",
            ),
        ]

    def __str__(self) -> str:
        return f"Payment {self.pk} {self.amount} {self.currency}"

    @property
    def unapplied(self):
        return self.amount - self.amount_allocated


@tracked(model_name="PaymentAllocationEvent")
class PaymentAllocation(models.Model):
    """Part of a payment (or of a credit note) applied to an invoice."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="allocations")
    credit_note = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="applications"
    )
    amount = models.DecimalField(**AMOUNT_FIELD)
    # What the allocation took off AR in the functional currency: the invoice at its booked rate (`functional`)
    # and the payment or credit note at its own (`source_functional`); the difference is the realised exchange
    # gain or loss posted by `journal_entry` (none when both are the same).
    functional = models.DecimalField(**AMOUNT_FIELD, null=True, blank=True)
    source_functional = models.DecimalField(**AMOUNT_FIELD, null=True, blank=True)
    journal_entry = models.ForeignKey(
        "ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_allocation_pos"),
            models.CheckConstraint(
                condition=Q(payment__isnull=False, credit_note__isnull=True)
                | Q(payment__isnull=True, credit_note__isnull=False),
                name="billing_allocation_one_source",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} to {self.invoice_id}"


@tracked()
class WriteOff(models.Model):
    """Writing off an invoice's remaining balance: requested by one finance user, approved by another."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="write_offs")
    amount = models.DecimalField(**AMOUNT_FIELD)
    reason = models.CharField(max_length=300)
    functional = models.DecimalField(
        **AMOUNT_FIELD, null=True, blank=True, help_text="Booked value taken off AR when approved (functional)."
    )
    status = models.CharField(max_length=10, choices=WriteOffStatus.choices, default=WriteOffStatus.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    journal_entry = models.ForeignKey(
        "ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_writeoff_pos"),
            models.CheckConstraint(
                condition=in_choices("status", WriteOffStatus), name="billing_writeoff_status_valid"
            ),
            models.UniqueConstraint(
                fields=["invoice"], condition=Q(status=WriteOffStatus.REQUESTED), name="billing_writeoff_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"Write-off {self.amount} on {self.invoice_id}"


class DunningReminder(models.Model):
    """One payment reminder sent for an overdue invoice at one dunning level (billing.choices.DUNNING_LEVELS).
    Unique per invoice and level, so a level is never sent twice; the e-mail leaves through the outbox."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="reminders")
    level = models.PositiveSmallIntegerField()
    days_overdue = models.PositiveIntegerField()
    balance = models.DecimalField(**AMOUNT_FIELD, help_text="Amount claimed: the open balance less what is disputed.")
    disputed = models.DecimalField(
        **AMOUNT_FIELD, **ZERO_DEFAULT, db_default=Decimal("0.00"), help_text="Left out of the claim: under dispute."
    )
    sent_to = models.EmailField()
    outbox_message = models.UUIDField(null=True, blank=True)
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["invoice_id", "level"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "level"], name="billing_dunning_once_per_level"),
            models.CheckConstraint(condition=Q(level__gte=1) & Q(level__lte=3), name="billing_dunning_level_range"),
        ]

    def __str__(self) -> str:
        return f"Reminder {self.level} on {self.invoice_id}"
