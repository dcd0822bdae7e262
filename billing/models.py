"""Billing data: tax categories, billing schedules, runs, invoices and credit notes, source links, payments.

Single-row rules are check constraints; cross-row rules that PostgreSQL can hold are enforced there too
(migration 0002): the partial unique index that bills a source at most once while not released, and the
trigger that keeps issued documents immutable. Every write goes through billing.services.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from billing.choices import (
    INVOICE_TRANSITIONS,
    InvoiceKind,
    InvoiceStatus,
    ItemStatus,
    PaymentMethod,
    RunScope,
    RunStatus,
    ScheduleKind,
    SourceKind,
    TaxKind,
    WriteOffStatus,
)
from crm.choices import CURRENCIES, DEFAULT_CURRENCY
from psa.core.money import AMOUNT_FIELD, RATE_FIELD, DecimalDefault

ZERO_DEFAULT: DecimalDefault = {"default": Decimal("0.00")}


def _in(field: str, choices) -> Q:
    return Q(**{f"{field}__in": [c.value for c in choices]})


class TaxCategory(models.Model):
    """A VAT category with its rate (percent). Zero-rated, exempt and reverse-charge categories carry 0 %
    and, for the e-invoice, an exemption reason printed on the document."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=2, choices=TaxKind.choices, default=TaxKind.STANDARD)
    rate = models.DecimalField(max_digits=5, decimal_places=2, help_text="Percent, e.g. 20.00.")
    exemption_reason = models.CharField(max_length=200, blank=True)
    is_default = models.BooleanField(default=False, help_text="Used for accounts without their own category.")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "tax categories"
        constraints = [
            models.CheckConstraint(condition=_in("kind", TaxKind), name="billing_taxcat_kind_valid"),
            models.CheckConstraint(condition=Q(rate__gte=0) & Q(rate__lte=100), name="billing_taxcat_rate_range"),
            models.CheckConstraint(
                condition=Q(kind=TaxKind.STANDARD) | Q(rate=0), name="billing_taxcat_only_standard_has_rate"
            ),
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="billing_taxcat_one_default"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.rate}%)" if self.kind == TaxKind.STANDARD else self.name


class AccountTax(models.Model):
    """The tax category an account is invoiced under (default category when absent)."""

    account = models.OneToOneField("crm.Account", on_delete=models.CASCADE, related_name="billing_tax")
    tax_category = models.ForeignKey(TaxCategory, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = "account tax category"

    def __str__(self) -> str:
        return f"{self.account_id}: {self.tax_category}"


class ScheduleEvent(models.Model):
    """One billable instalment or period of a fixed-fee, retainer or subscription contract line."""

    contract_line = models.ForeignKey("projects.ContractLine", on_delete=models.PROTECT, related_name="schedule_events")
    sequence = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=12, choices=ScheduleKind.choices)
    description = models.CharField(max_length=200)
    period_start = models.DateField()
    period_end = models.DateField()
    bill_on = models.DateField(help_text="Billable from this date (a run with a later period end picks it up).")
    amount = models.DecimalField(**AMOUNT_FIELD)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["contract_line_id", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["contract_line", "sequence"], name="billing_schedule_seq_unique"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="billing_schedule_amount_nonneg"),
            models.CheckConstraint(condition=Q(period_end__gte=F("period_start")), name="billing_schedule_dates"),
            models.CheckConstraint(condition=_in("kind", ScheduleKind), name="billing_schedule_kind_valid"),
        ]
        indexes = [models.Index(fields=["bill_on"], name="billing_schedule_bill_on_idx")]

    def __str__(self) -> str:
        return self.description


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
            models.CheckConstraint(condition=_in("status", RunStatus), name="billing_run_status_valid"),
            models.CheckConstraint(condition=_in("scope", RunScope), name="billing_run_scope_valid"),
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
    # The lease of the worker on the item: taken before the item is processed and renewed while the worker
    # lives; an item whose lease expired while pending belongs to a dead worker (see billing.services.runs).
    lease_owner = models.CharField(max_length=100, blank=True, db_default="")
    leased_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "contract_id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "contract"], name="billing_runitem_unique"),
            models.CheckConstraint(condition=_in("status", ItemStatus), name="billing_runitem_status_valid"),
        ]
        indexes = [models.Index(fields=["run", "status"], name="billing_runitem_status_idx")]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.contract_id} {self.status}"


class Invoice(models.Model):
    """An invoice or a credit note. Drafts carry no number; issuing numbers it from the kind's gapless series,
    posts it to the ledger and freezes it (a PostgreSQL trigger refuses changes to what was issued; only
    settlement amounts, status and the stored PDF may still change)."""

    kind = models.CharField(max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE)
    number = models.CharField(max_length=32, null=True, blank=True, unique=True)
    status = models.CharField(max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT)
    account = models.ForeignKey("crm.Account", on_delete=models.PROTECT, related_name="invoices")
    contract = models.ForeignKey("projects.Contract", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    project = models.ForeignKey("projects.Project", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(BillingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="invoices")
    credited_invoice = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_notes"
    )
    currency = models.CharField(max_length=3, choices=CURRENCIES, default=DEFAULT_CURRENCY)
    payment_terms_days = models.PositiveSmallIntegerField(default=30)
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    # Billing-entity snapshot, taken when the draft is made and frozen at issue.
    buyer_name = models.CharField(max_length=200)
    buyer_address = models.TextField(blank=True)
    buyer_tax_id = models.CharField(max_length=50, blank=True)
    buyer_email = models.EmailField(blank=True)
    buyer_reference = models.CharField(max_length=100, blank=True, help_text="PO or contract reference.")
    seller = models.JSONField(default=dict)
    note = models.TextField(blank=True)
    net_total = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT)
    tax_total = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT)
    gross_total = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT)
    # Settlement, maintained by the payment, credit-note and write-off services.
    amount_paid = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT)
    amount_credited = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT)
    amount_written_off = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT)
    journal_entry = models.ForeignKey(
        "ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    pdf = models.FileField(upload_to="invoices/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    xml = models.TextField(blank=True, help_text="The EN 16931 CII XML embedded in the PDF.")
    einvoice_error = models.TextField(
        blank=True,
        help_text="Why the last render's EN 16931 XML failed the Factur-X XSD (nothing was stored or sent); "
        "empty once a render succeeds.",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    issued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-issue_date", "-id"]
        constraints = [
            models.CheckConstraint(condition=_in("status", InvoiceStatus), name="billing_invoice_status_valid"),
            models.CheckConstraint(condition=_in("kind", InvoiceKind), name="billing_invoice_kind_valid"),
            models.CheckConstraint(
                condition=Q(status__in=[InvoiceStatus.DRAFT, InvoiceStatus.CANCELLED])
                | (Q(number__isnull=False) & Q(issue_date__isnull=False) & Q(due_date__isnull=False)),
                name="billing_invoice_issued_has_number",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[InvoiceStatus.DRAFT, InvoiceStatus.CANCELLED]) | Q(number__isnull=True),
                name="billing_invoice_draft_has_no_number",
            ),
            models.CheckConstraint(
                condition=Q(gross_total=F("net_total") + F("tax_total")), name="billing_invoice_gross_identity"
            ),
            models.CheckConstraint(
                condition=Q(kind=InvoiceKind.INVOICE) | Q(credited_invoice__isnull=False),
                name="billing_creditnote_references_invoice",
            ),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0) & Q(amount_credited__gte=0) & Q(amount_written_off__gte=0),
                name="billing_invoice_settlement_nonneg",
            ),
            models.CheckConstraint(
                condition=Q(gross_total__gte=F("amount_paid") + F("amount_credited") + F("amount_written_off")),
                name="billing_invoice_not_oversettled",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "status"], name="billing_invoice_account_idx"),
            models.Index(fields=["status", "due_date"], name="billing_invoice_due_idx"),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft {self.get_kind_display().lower()} #{self.pk}"

    @property
    def balance(self):
        """What is still owed (an invoice) or still to apply (a credit note)."""
        return self.gross_total - self.amount_paid - self.amount_credited - self.amount_written_off

    @property
    def is_credit_note(self) -> bool:
        return self.kind == InvoiceKind.CREDIT_NOTE

    @property
    def is_draft(self) -> bool:
        return self.status == InvoiceStatus.DRAFT

    @property
    def allowed_next(self) -> tuple[str, ...]:
        return INVOICE_TRANSITIONS.get(self.status, ())


class InvoiceLine(models.Model):
    """quantity x unit price, net rounded once (half up). `credited_line` links a credit-note line to the line
    it credits."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=1)
    description = models.CharField(max_length=300)
    quantity = models.DecimalField(**RATE_FIELD)
    unit = models.CharField(max_length=3, default="C62")
    unit_price = models.DecimalField(**RATE_FIELD)
    net = models.DecimalField(**AMOUNT_FIELD)
    tax_category = models.ForeignKey(TaxCategory, on_delete=models.PROTECT, related_name="+")
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2)
    contract_line = models.ForeignKey(
        "projects.ContractLine", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    credited_line = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="credit_lines"
    )
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    written_down = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT, help_text="Cut by the contract cap.")

    class Meta:
        ordering = ["invoice_id", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0) & Q(unit_price__gte=0), name="billing_line_nonneg"),
            models.CheckConstraint(condition=Q(net__gte=0) & Q(written_down__gte=0), name="billing_line_net_nonneg"),
        ]
        indexes = [models.Index(fields=["contract_line"], name="billing_line_cline_idx")]

    def __str__(self) -> str:
        return self.description


class InvoiceTax(models.Model):
    """The tax of one category on the summed basis of its lines (EN 16931 BR-CO-17)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="taxes")
    tax_category = models.ForeignKey(TaxCategory, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=2, choices=TaxKind.choices)
    rate = models.DecimalField(max_digits=5, decimal_places=2)
    basis = models.DecimalField(**AMOUNT_FIELD)
    amount = models.DecimalField(**AMOUNT_FIELD)
    exemption_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["invoice_id", "-rate", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "tax_category"], name="billing_invoicetax_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.rate}%: {self.amount}"


class SourceLink(models.Model):
    """What an invoice line bills: one source (milestone, schedule event, time entry or expense). A grouped T&M
    line has one link per entry, each with its share of the line's net (the shares sum to the net exactly).

    A source is billed at most once while not released (partial unique index on kind + id where
    `released_at` is null, migration 0002). Discarding a draft or issuing a credit note that credits the link
    releases it, so the next run may bill it again — exactly once more."""

    line = models.ForeignKey(InvoiceLine, on_delete=models.CASCADE, related_name="sources")
    kind = models.CharField(max_length=16, choices=SourceKind.choices)
    source_id = models.BigIntegerField()
    contract_line = models.ForeignKey(
        "projects.ContractLine", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    quantity = models.DecimalField(**RATE_FIELD, default=Decimal("1"))
    amount = models.DecimalField(**AMOUNT_FIELD, help_text="Net billed for this source (after any cap cut).")
    written_down = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT)
    source_date = models.DateField(null=True, blank=True)
    label = models.CharField(max_length=300, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    release_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["line_id", "id"]
        constraints = [
            models.CheckConstraint(condition=_in("kind", SourceKind), name="billing_sourcelink_kind_valid"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="billing_sourcelink_amount_nonneg"),
            models.UniqueConstraint(
                fields=["kind", "source_id"],
                condition=Q(released_at__isnull=True),
                name="billing_source_billed_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.source_id}"


class SourceRelease(models.Model):
    """A credit-note line crediting one source link; the link is released when the credit note is issued.
    Unique per link, so two credit notes can never credit the same source."""

    credit_line = models.ForeignKey(InvoiceLine, on_delete=models.CASCADE, related_name="releases")
    link = models.OneToOneField(SourceLink, on_delete=models.PROTECT, related_name="release")

    def __str__(self) -> str:
        return f"{self.credit_line_id} releases {self.link_id}"


class CapWriteDown(models.Model):
    """The part of a source the not-to-exceed cap kept off an invoice: reported, never silently dropped."""

    contract_line = models.ForeignKey("projects.ContractLine", on_delete=models.PROTECT, related_name="+")
    link = models.OneToOneField(SourceLink, on_delete=models.CASCADE, related_name="write_down")
    run = models.ForeignKey(BillingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="write_downs")
    amount = models.DecimalField(**AMOUNT_FIELD)
    cap = models.DecimalField(**AMOUNT_FIELD)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="billing_writedown_pos")]

    def __str__(self) -> str:
        return f"{self.amount} over cap on {self.contract_line_id}"


class Payment(models.Model):
    """Money received from an account; allocated to invoices, the rest kept as unapplied credit."""

    account = models.ForeignKey("crm.Account", on_delete=models.PROTECT, related_name="payments")
    received_on = models.DateField()
    amount = models.DecimalField(**AMOUNT_FIELD)
    currency = models.CharField(max_length=3, choices=CURRENCIES, default=DEFAULT_CURRENCY)
    method = models.CharField(max_length=14, choices=PaymentMethod.choices, default=PaymentMethod.BANK_TRANSFER)
    reference = models.CharField(max_length=200, blank=True)
    bank_ref = models.CharField(max_length=100, null=True, blank=True, unique=True, help_text="Bank import id.")
    amount_allocated = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT)
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


class Allocation(models.Model):
    """Part of a payment (or of a credit note) applied to an invoice."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="allocations")
    credit_note = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.PROTECT, related_name="applications"
    )
    amount = models.DecimalField(**AMOUNT_FIELD)
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


class WriteOff(models.Model):
    """Writing off an invoice's remaining balance: requested by one finance user, approved by another."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="write_offs")
    amount = models.DecimalField(**AMOUNT_FIELD)
    reason = models.CharField(max_length=300)
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
            models.CheckConstraint(condition=_in("status", WriteOffStatus), name="billing_writeoff_status_valid"),
            models.UniqueConstraint(
                fields=["invoice"], condition=Q(status=WriteOffStatus.REQUESTED), name="billing_writeoff_one_open"
            ),
        ]

    def __str__(self) -> str:
        return f"Write-off {self.amount} on {self.invoice_id}"


class InvoiceHistory(models.Model):
    """Status changes of a document (who, when, from, to)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="history")
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name_plural = "invoice history"

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.from_status} -> {self.to_status}"


class DunningReminder(models.Model):
    """One payment reminder sent for an overdue invoice at one dunning level (billing.choices.DUNNING_LEVELS).
    Unique per invoice and level, so a level is never sent twice; the e-mail leaves through the outbox."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="reminders")
    level = models.PositiveSmallIntegerField()
    days_overdue = models.PositiveIntegerField()
    balance = models.DecimalField(**AMOUNT_FIELD, help_text="Open balance when the reminder was sent.")
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
