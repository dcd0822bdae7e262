"""Invoices and credit notes, their lines, taxes and status history, and what each line bills (source links,
their releases by credit notes, cap write-downs)."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round

from billing.choices import INVOICE_TRANSITIONS, InvoiceKind, InvoiceStatus, SourceKind, TaxKind
from billing.models._common import ZERO_DEFAULT, in_choices
from billing.models.runs import BillingRun
from billing.models.tax import TaxCategory
from crm.choices import CURRENCIES, DEFAULT_CURRENCY
from psa.core.entities import entity_field
from psa.core.history import tracked
from psa.core.money import AMOUNT_FIELD, FX_RATE_FIELD, RATE_FIELD


@tracked(exclude=["seller", "pdf"])  # the PDF is a stored file, served only by its checked view
class Invoice(models.Model):
    """An invoice or a credit note. Drafts carry no number; issuing numbers it from the kind's gapless series,
    posts it to the ledger and freezes it (a PostgreSQL trigger refuses changes to what was issued; only
    settlement amounts, status and the stored PDF may still change)."""

    kind = models.CharField(max_length=12, choices=InvoiceKind.choices, default=InvoiceKind.INVOICE)
    number = models.CharField(max_length=32, null=True, blank=True, unique=True)
    status = models.CharField(max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.DRAFT)
    account = models.ForeignKey("crm.Account", on_delete=models.PROTECT, related_name="invoices")
    entity = entity_field(help_text="The issuing legal entity: the seller, its number series and its books.")
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
    buyer_country = models.CharField(max_length=2, blank=True, db_default="", help_text="ISO 3166-1 (BT-55).")
    buyer_email = models.EmailField(blank=True)
    buyer_reference = models.CharField(max_length=100, blank=True, help_text="PO or contract reference.")
    seller = models.JSONField(default=dict)
    # The VAT determination of the draft (billing.services.vat): the rule applied and why, in one sentence.
    tax_rule = models.CharField(max_length=40, blank=True, db_default="")
    tax_why = models.CharField(max_length=500, blank=True, db_default="")
    note = models.TextField(blank=True)
    payment_reference = models.CharField(
        max_length=25,
        blank=True,
        default="",
        db_default="",
        help_text="The structured creditor reference (ISO 11649, RF...) the client quotes when paying by bank "
        "transfer (BT-83); assigned at issue from the number.",
    )
    net_total = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT)
    tax_total = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT)
    gross_total = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT)
    # Settlement, maintained by the payment, credit-note and write-off services.
    amount_paid = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT)
    amount_credited = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT)
    amount_written_off = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT)
    # Retainage (holdback, billing.services.retainage). On an invoice: the part of the gross the client holds back
    # until acceptance (the sum of its lines' `retainage`, fixed at issue); it is owed but not due, so it sits on
    # the retainage receivable, not on AR, and no payment settles it: a release invoice bills it later. On a credit
    # note of such an invoice: the part of the credit that takes back held retainage (never AR).
    # `retainage_credited` is how much of an invoice's retainage credit notes took back (a settlement figure).
    # A release invoice (`retainage_release`) bills retainage held on earlier invoices: no VAT, no revenue.
    retainage_total = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT, db_default=Decimal("0.00"))
    retainage_credited = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT, db_default=Decimal("0.00"))
    functional_retainage = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT, db_default=Decimal("0.00"))
    retainage_release = models.BooleanField(default=False, db_default=False)
    # The functional-currency values, fixed at issue at the rate of the issue date (DESIGN.md invariant 11) and
    # frozen with the rest of the document; null on a draft. In the functional currency the rate is 1 and no
    # rate date is kept. `functional_settled` is the booked value settlements have taken off AR so far
    # (allocations and write-offs, each a share of functional_gross, the last one the remainder).
    fx_rate = models.DecimalField(**FX_RATE_FIELD, null=True, blank=True, help_text="Rate of the issue date.")
    fx_rate_date = models.DateField(null=True, blank=True, help_text="The date the rate used was published for.")
    functional_net = models.DecimalField(**AMOUNT_FIELD, null=True, blank=True)
    functional_tax = models.DecimalField(**AMOUNT_FIELD, null=True, blank=True)
    functional_gross = models.DecimalField(**AMOUNT_FIELD, null=True, blank=True)
    functional_settled = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT, db_default=Decimal("0.00"))
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
    imported = models.BooleanField(
        default=False,
        db_default=False,
        help_text="Issued by the previous system and brought in by a go-live: its number is the old system's, in "
        "a series of its own, and it was posted as part of the opening balance.",
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
            models.CheckConstraint(condition=in_choices("status", InvoiceStatus), name="billing_invoice_status_valid"),
            models.CheckConstraint(condition=in_choices("kind", InvoiceKind), name="billing_invoice_kind_valid"),
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
                condition=Q(gross_total=Round(F("net_total") + F("tax_total"), 2)),
                name="billing_invoice_gross_identity",
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
                condition=Q(
                    gross_total__gte=Round(
                        F("retainage_total") + F("amount_paid") + F("amount_credited") + F("amount_written_off"), 2
                    )
                ),
                name="billing_invoice_not_oversettled",
            ),
            models.CheckConstraint(
                condition=Q(retainage_total__gte=0)
                & Q(retainage_credited__gte=0)
                & Q(retainage_credited__lte=F("retainage_total"))
                & Q(functional_retainage__gte=0),
                name="billing_invoice_retainage_range",
            ),
            models.CheckConstraint(
                condition=Q(retainage_release=False) | (Q(retainage_total=0) & Q(tax_total=0)),
                name="billing_release_holds_nothing",
            ),
            models.CheckConstraint(
                condition=Q(functional_gross__isnull=True)
                | Q(functional_gross=Round(F("functional_net") + F("functional_tax"), 2)),
                name="billing_invoice_functional_gross_identity",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "status"], name="billing_invoice_account_idx"),
            models.Index(fields=["status", "due_date"], name="billing_invoice_due_idx"),
            # the invoice list's default order (newest first): its first page reads 25 index entries, not a sort
            # of every invoice
            models.Index(fields=["-created_at", "-id"], name="billing_invoice_created_idx"),
        ]

    def __str__(self) -> str:
        return self.number or f"Draft {self.get_kind_display().lower()} #{self.pk}"

    @property
    def balance(self):
        """What is still owed (an invoice) or still to apply (a credit note): the part on AR. Retainage held back
        is owed only once a release invoice bills it, so it is not part of the balance."""
        return (
            self.gross_total - self.retainage_total - self.amount_paid - self.amount_credited - self.amount_written_off
        )

    @property
    def receivable(self):
        """The part of the gross that went to AR at issue (the gross less the retainage held back)."""
        return self.gross_total - self.retainage_total

    @property
    def functional_receivable(self):
        """The booked functional value that went to AR at issue (None on a draft)."""
        if self.functional_gross is None:
            return None
        return self.functional_gross - self.functional_retainage

    @property
    def retainage_held(self):
        """Retainage still held on this invoice before any release (less what credit notes took back)."""
        return self.retainage_total - self.retainage_credited

    @property
    def functional_balance(self):
        """What is still open in the functional currency at the booked rate (None on a draft)."""
        if self.functional_gross is None:
            return None
        return self.functional_gross - self.functional_retainage - self.functional_settled

    @property
    def is_credit_note(self) -> bool:
        return self.kind == InvoiceKind.CREDIT_NOTE

    @property
    def is_draft(self) -> bool:
        return self.status == InvoiceStatus.DRAFT

    @property
    def allowed_next(self) -> tuple[str, ...]:
        return INVOICE_TRANSITIONS.get(self.status, ())


@tracked()
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
    retainage = models.DecimalField(
        **AMOUNT_FIELD,
        **ZERO_DEFAULT,
        db_default=Decimal("0.00"),
        help_text="The part of this line's net held back as retainage (its contract line's percent, at issue).",
    )

    class Meta:
        ordering = ["invoice_id", "position", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0) & Q(unit_price__gte=0), name="billing_line_nonneg"),
            models.CheckConstraint(
                condition=Q(retainage__gte=0) & Q(retainage__lte=F("net")), name="billing_line_retainage_range"
            ),
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
    exemption_code = models.CharField(max_length=30, blank=True, db_default="")

    class Meta:
        ordering = ["invoice_id", "-rate", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["invoice", "tax_category"], name="billing_invoicetax_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.rate}%: {self.amount}"


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
        # releases since a time (billing.services.time_summary finds the months a credit note changed)
        indexes = [models.Index(fields=["released_at"], name="billing_sl_released")]
        constraints = [
            models.CheckConstraint(condition=in_choices("kind", SourceKind), name="billing_sourcelink_kind_valid"),
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


class RetainageRelease(models.Model):
    """A line of a release invoice billing the retainage held on one earlier invoice (`held_on`). Retainage is
    released at most once: a partial unique index on `held_on` where `undone_at` is null. Discarding the release
    draft or crediting its line undoes the release (`undone_at`), so the retainage may be released again —
    exactly once more."""

    line = models.OneToOneField(InvoiceLine, on_delete=models.CASCADE, related_name="releases_retainage")
    held_on = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="retainage_releases")
    amount = models.DecimalField(**AMOUNT_FIELD)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["line_id", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_retainage_release_pos"),
            models.UniqueConstraint(
                fields=["held_on"], condition=Q(undone_at__isnull=True), name="billing_retainage_released_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} released from {self.held_on_id}"
