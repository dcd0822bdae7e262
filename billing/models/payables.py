"""Accounts payable: vendor bills and their lines, payments out to vendors and the payment runs that send them
to the bank (an ISO 20022 pain.001 file). Statuses and kinds are in billing.choices; every write goes through
billing.services (payables, vendor payments).

A vendor bill belongs to one legal entity and is in the vendor's currency. Its lines say what was bought: project
cost, re-billable project cost (re-billed to the client through the contract line), subcontractor hours (matched
with the approved hours of the vendor's people) or overhead on a chosen account. Single-row rules are constraints
here; the vendor's bill number is unique per vendor, whatever its letter case (a duplicate bill is refused).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round, Upper
from django.utils import timezone

from billing.choices import (
    PaymentRunStatus,
    PurchaseTax,
    VendorBillLineKind,
    VendorBillStatus,
)
from billing.models._common import ZERO_DEFAULT, in_choices
from crm.choices import CURRENCIES, DEFAULT_CURRENCY
from psa.core.entities import entity_field
from psa.core.history import tracked
from psa.core.money import AMOUNT_FIELD, FX_RATE_FIELD, HOURS_FIELD


def vendor_bill_path(instance: "VendorBill", filename: str) -> str:
    return f"vendor_bills/{instance.vendor_id}/{timezone.now():%Y/%m}/{filename}"


def payment_file_path(instance: "PaymentRun", filename: str) -> str:
    return f"payment_runs/{instance.entity_id}/{timezone.now():%Y/%m}/{filename}"


@tracked(exclude=["pdf"])  # the PDF is a stored file, served only by its checked view
class VendorBill(models.Model):
    """A bill received from a vendor. `number` is the vendor's own invoice number; the gross total is what the
    firm owes the vendor (net + input VAT; reverse-charge VAT is self-assessed and not owed to the vendor)."""

    vendor = models.ForeignKey("crm.Vendor", on_delete=models.PROTECT, related_name="bills")
    entity = entity_field(help_text="The legal entity that bought (its books and its bank account pay the bill).")
    number = models.CharField(max_length=100, help_text="The vendor's invoice number.")
    po_number = models.CharField("PO number", max_length=100, blank=True, help_text="Our purchase order, if any.")
    bill_date = models.DateField()
    due_date = models.DateField()
    currency = models.CharField(max_length=3, choices=CURRENCIES, default=DEFAULT_CURRENCY)
    purchase_tax = models.CharField(max_length=16, choices=PurchaseTax.choices, default=PurchaseTax.STANDARD)
    purchase_tax_reason = models.CharField(
        max_length=300,
        blank=True,
        help_text="Why the purchase tax differs from what the vendor's and the entity's countries decide (override).",
    )
    net_total = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT)
    tax_total = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT, help_text="Input VAT charged by the vendor.")
    reverse_charge_tax = models.DecimalField(
        **AMOUNT_FIELD, **ZERO_DEFAULT, help_text="VAT self-assessed under reverse charge (not owed to the vendor)."
    )
    gross_total = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT)
    amount_paid = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT)
    # Converted at the rate of the bill date (rate 1, no rate date, in the functional currency).
    fx_rate = models.DecimalField(**FX_RATE_FIELD, null=True, blank=True)
    fx_rate_date = models.DateField(null=True, blank=True)
    functional_gross = models.DecimalField(**AMOUNT_FIELD, null=True, blank=True)
    status = models.CharField(max_length=20, choices=VendorBillStatus.choices, default=VendorBillStatus.DRAFT)
    pdf = models.FileField(upload_to=vendor_bill_path, blank=True, help_text="The vendor's bill as received.")
    notes = models.TextField(blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    pm_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pm_approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Finance's approval, which posts the bill.",
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    rejected_reason = models.TextField(blank=True)
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rejected_at = models.DateTimeField(null=True, blank=True)
    journal_entry = models.ForeignKey(
        "ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    opening = models.BooleanField(
        default=False,
        help_text="An open bill brought in at go-live: posted by the previous system (the opening balance of "
        "accounts payable carries it), so it has no journal entry of its own.",
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-bill_date", "-id"]
        constraints = [
            models.UniqueConstraint(Upper("number"), "vendor", name="billing_vendorbill_vendor_number_unique"),
            models.CheckConstraint(condition=in_choices("status", VendorBillStatus), name="billing_vbill_status"),
            models.CheckConstraint(condition=in_choices("purchase_tax", PurchaseTax), name="billing_vbill_tax"),
            models.CheckConstraint(
                condition=Q(net_total__gte=0) & Q(tax_total__gte=0) & Q(reverse_charge_tax__gte=0),
                name="billing_vbill_amounts_nonneg",
            ),
            models.CheckConstraint(
                condition=Q(gross_total=Round(F("net_total") + F("tax_total"), 2)),
                name="billing_vbill_gross_is_net_plus_tax",
            ),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0) & Q(amount_paid__lte=F("gross_total")),
                name="billing_vbill_not_overpaid",
            ),
            models.CheckConstraint(condition=Q(due_date__gte=F("bill_date")), name="billing_vbill_due_after_date"),
        ]
        indexes = [
            models.Index(fields=["status", "due_date"], name="billing_vbill_status_due_idx"),
            models.Index(fields=["vendor", "bill_date"], name="billing_vbill_vendor_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.vendor} {self.number}"

    @property
    def open_amount(self) -> Decimal:
        return self.gross_total - self.amount_paid


class VendorBillLine(models.Model):
    """One line of a vendor bill. Its kind decides the debit: project cost and re-billable cost carry the
    project (and client) dimension; subcontractor hours name the person and the service period they bill for."""

    bill = models.ForeignKey(VendorBill, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=12, choices=VendorBillLineKind.choices)
    description = models.CharField(max_length=300)
    project = models.ForeignKey(
        "projects.Project", null=True, blank=True, on_delete=models.PROTECT, related_name="vendor_bill_lines"
    )
    contract_line = models.ForeignKey(
        "projects.ContractLine",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="vendor_bill_lines",
        help_text="The contract line a re-billable cost is billed on (its expense policy sets the markup).",
    )
    consultant = models.ForeignKey(
        "projects.Consultant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="vendor_bill_lines",
        help_text="The subcontractor whose hours this line bills.",
    )
    ledger_account = models.ForeignKey(
        "ledger.LedgerAccount",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The expense account of an overhead line.",
    )
    hours = models.DecimalField(**HOURS_FIELD, null=True, blank=True, help_text="Hours billed (subcontractors).")
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    net_amount = models.DecimalField(**AMOUNT_FIELD)
    tax_rate = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0.00"))
    tax_amount = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT)
    rebill_amount = models.DecimalField(
        **AMOUNT_FIELD, null=True, blank=True, help_text="What the client is billed, fixed when the bill is posted."
    )

    class Meta:
        ordering = ["bill", "id"]
        constraints = [
            models.CheckConstraint(condition=in_choices("kind", VendorBillLineKind), name="billing_vbline_kind"),
            models.CheckConstraint(condition=Q(net_amount__gt=0), name="billing_vbline_net_pos"),
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0) & Q(tax_rate__lte=100) & Q(tax_amount__gte=0),
                name="billing_vbline_tax_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind=VendorBillLineKind.OVERHEAD) | Q(project__isnull=False),
                name="billing_vbline_project_required",
            ),
            models.CheckConstraint(
                condition=~Q(kind=VendorBillLineKind.OVERHEAD) | Q(ledger_account__isnull=False),
                name="billing_vbline_overhead_account",
            ),
            models.CheckConstraint(
                condition=~Q(kind=VendorBillLineKind.REBILLABLE) | Q(contract_line__isnull=False),
                name="billing_vbline_rebill_contract_line",
            ),
            models.CheckConstraint(
                condition=~Q(kind=VendorBillLineKind.SUBCONTRACT)
                | (
                    Q(consultant__isnull=False)
                    & Q(hours__gt=0)
                    & Q(period_start__isnull=False)
                    & Q(period_end__gte=F("period_start"))
                ),
                name="billing_vbline_subcontract_hours",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bill_id}: {self.description} {self.net_amount}"


class VendorBillApproval(models.Model):
    """A project manager's approval of the lines of one project on a bill (needed above the threshold,
    billing.services.payables). Finance's approval, which posts, is on the bill itself."""

    bill = models.ForeignKey(VendorBill, on_delete=models.CASCADE, related_name="approvals")
    project = models.ForeignKey("projects.Project", on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(default=timezone.now)
    functional_amount = models.DecimalField(**AMOUNT_FIELD, help_text="The project's lines, functional currency.")

    class Meta:
        ordering = ["bill", "approved_at", "id"]
        constraints = [models.UniqueConstraint(fields=["bill", "project"], name="billing_vbapproval_unique")]

    def __str__(self) -> str:
        return f"{self.bill_id}: project {self.project_id} approved by {self.approved_by_id}"


class PaymentRun(models.Model):
    """A batch of payments to vendors from one bank account of one entity, in one currency, sent to the bank as
    one pain.001 credit-transfer file and booked as paid when the bank has executed it."""

    entity = entity_field(help_text="The legal entity that pays.")
    bank_account = models.ForeignKey("core.EntityBankAccount", on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3, choices=CURRENCIES, default=DEFAULT_CURRENCY)
    execution_date = models.DateField(help_text="The day the bank is asked to pay.")
    status = models.CharField(max_length=10, choices=PaymentRunStatus.choices, default=PaymentRunStatus.DRAFT)
    message_id = models.CharField(max_length=35, unique=True, help_text="The file's MsgId (ISO 20022).")
    file = models.FileField(upload_to=payment_file_path, blank=True)
    total = models.DecimalField(**AMOUNT_FIELD, **ZERO_DEFAULT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    exported_at = models.DateTimeField(null=True, blank=True)
    booked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-execution_date", "-id"]
        constraints = [
            models.CheckConstraint(condition=in_choices("status", PaymentRunStatus), name="billing_payrun_status"),
            models.CheckConstraint(condition=Q(total__gte=0), name="billing_payrun_total_nonneg"),
        ]

    def __str__(self) -> str:
        return f"Payment run {self.message_id}"


@tracked()
class VendorPayment(models.Model):
    """Money paid to a vendor, allocated to its bills. Paid alone (booked at once) or through a payment run
    (booked when the run is booked)."""

    vendor = models.ForeignKey("crm.Vendor", on_delete=models.PROTECT, related_name="payments")
    entity = entity_field(help_text="The legal entity that paid.")
    run = models.ForeignKey(PaymentRun, null=True, blank=True, on_delete=models.PROTECT, related_name="payments")
    paid_on = models.DateField()
    amount = models.DecimalField(**AMOUNT_FIELD)
    currency = models.CharField(max_length=3, choices=CURRENCIES, default=DEFAULT_CURRENCY)
    reference = models.CharField(max_length=140, blank=True, help_text="Remittance information for the vendor.")
    end_to_end_id = models.CharField(max_length=35, unique=True, help_text="The payment's EndToEndId (ISO 20022).")
    fx_rate = models.DecimalField(**FX_RATE_FIELD, null=True, blank=True)
    fx_rate_date = models.DateField(null=True, blank=True)
    functional_amount = models.DecimalField(**AMOUNT_FIELD, null=True, blank=True)
    journal_entry = models.ForeignKey(
        "ledger.JournalEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-paid_on", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="billing_vpayment_amount_pos")]

    def __str__(self) -> str:
        return f"Payment to {self.vendor} {self.amount} {self.currency}"


class VendorPaymentAllocation(models.Model):
    """The part of a payment that settles one bill."""

    payment = models.ForeignKey(VendorPayment, on_delete=models.CASCADE, related_name="allocations")
    bill = models.ForeignKey(VendorBill, on_delete=models.PROTECT, related_name="allocations")
    amount = models.DecimalField(**AMOUNT_FIELD)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["payment", "bill"], name="billing_vpalloc_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="billing_vpalloc_amount_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.payment_id} → {self.bill_id}: {self.amount}"
