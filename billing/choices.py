"""Billing choices: document kinds, statuses and their transitions, tax categories, source kinds, runs."""

from django.db import models


class InvoiceKind(models.TextChoices):
    INVOICE = "invoice", "Invoice"
    CREDIT_NOTE = "credit_note", "Credit note"


# Gapless number series per kind (psa.core.numbering): INV-2026-000001, CN-2026-000001.
SERIES: dict[str, str] = {InvoiceKind.INVOICE: "INV", InvoiceKind.CREDIT_NOTE: "CN"}
# UNTDID 1001 document type codes used in the EN 16931 XML.
TYPE_CODES: dict[str, str] = {InvoiceKind.INVOICE: "380", InvoiceKind.CREDIT_NOTE: "381"}


class InvoiceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ISSUED = "issued", "Issued"
    PARTLY_CREDITED = "partly_credited", "Partly credited"
    PARTLY_PAID = "partly_paid", "Partly paid"
    PAID = "paid", "Paid"
    CREDITED = "credited", "Credited"
    WRITTEN_OFF = "written_off", "Written off"
    CANCELLED = "cancelled", "Cancelled"


S = InvoiceStatus
# Issued documents change only through settlement (payments, credit notes, write-offs); a draft may be
# discarded (cancelled), which releases its sources. Settlement can move back from partly paid to issued
# never: allocations are not undone (a refund is a credit note).
# The status speaks of payment first: "partly credited" is an open invoice that credit notes reduced and no
# payment touched yet (Odoo would say "partial", ERPNext "Partly Paid"; both read as money received, which it is
# not). Once any payment is allocated it is "partly paid"; the credited amount stays shown next to it.
INVOICE_TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.DRAFT: (S.ISSUED, S.CANCELLED),
    S.ISSUED: (S.PARTLY_CREDITED, S.PARTLY_PAID, S.PAID, S.CREDITED, S.WRITTEN_OFF),
    S.PARTLY_CREDITED: (S.PARTLY_CREDITED, S.PARTLY_PAID, S.PAID, S.CREDITED, S.WRITTEN_OFF),
    S.PARTLY_PAID: (S.PARTLY_PAID, S.PAID, S.CREDITED, S.WRITTEN_OFF),
    S.PAID: (),
    S.CREDITED: (),
    S.WRITTEN_OFF: (),
    S.CANCELLED: (),
}
OPEN_STATUSES = (S.ISSUED, S.PARTLY_CREDITED, S.PARTLY_PAID)
FINAL_STATUSES = (S.ISSUED, S.PARTLY_CREDITED, S.PARTLY_PAID, S.PAID, S.CREDITED, S.WRITTEN_OFF)


class TaxKind(models.TextChoices):
    """UNTDID 5305 VAT category codes."""

    STANDARD = "S", "Standard rate"
    ZERO = "Z", "Zero rated"
    REVERSE_CHARGE = "AE", "Reverse charge"
    EXEMPT = "E", "Exempt"
    NOT_SUBJECT = "O", "Not subject to VAT"


class VatRateKind(models.TextChoices):
    """Which of a country's VAT rates: the standard rate, or a reduced one."""

    STANDARD = "standard", "Standard"
    REDUCED = "reduced", "Reduced"


class SupplyKind(models.TextChoices):
    """What is supplied; the VAT rules modelled are those for services (the firm sells services)."""

    SERVICES = "services", "Services"


class SourceKind(models.TextChoices):
    """What an invoice line bills (billing.services.sources has one provider per kind)."""

    MILESTONE = "milestone", "Milestone"
    SCHEDULE_EVENT = "schedule_event", "Schedule event"
    TIME_ENTRY = "time_entry", "Time entry"
    EXPENSE = "expense", "Expense"
    VENDOR_COST = "vendor_cost", "Re-billed vendor cost"  # a re-billable vendor-bill line


class ScheduleKind(models.TextChoices):
    INSTALMENT = "instalment", "Fixed-fee instalment"
    RETAINER = "retainer", "Retainer period"
    SUBSCRIPTION = "subscription", "Subscription period"


class RunScope(models.TextChoices):
    ALL = "all", "All accounts"
    ACCOUNTS = "accounts", "Some accounts"
    PROJECTS = "projects", "Some projects"


class RunStatus(models.TextChoices):
    DRAFT = "draft", "Draft (preview)"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    DONE_WITH_ERRORS = "done_with_errors", "Done with errors"


RUN_TRANSITIONS: dict[str, tuple[str, ...]] = {
    RunStatus.DRAFT: (RunStatus.RUNNING,),
    RunStatus.RUNNING: (RunStatus.RUNNING, RunStatus.DONE, RunStatus.DONE_WITH_ERRORS),
    RunStatus.DONE: (),
    RunStatus.DONE_WITH_ERRORS: (RunStatus.RUNNING,),
}


class ItemStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Invoiced"
    EMPTY = "empty", "Nothing to bill"
    FAILED = "failed", "Failed"


class PaymentMethod(models.TextChoices):
    BANK_TRANSFER = "bank_transfer", "Bank transfer"
    CARD = "card", "Card"
    DIRECT_DEBIT = "direct_debit", "Direct debit"
    OTHER = "other", "Other"


class WriteOffStatus(models.TextChoices):
    REQUESTED = "requested", "Awaiting approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


WRITE_OFF_TRANSITIONS: dict[str, tuple[str, ...]] = {
    WriteOffStatus.REQUESTED: (WriteOffStatus.APPROVED, WriteOffStatus.REJECTED),
    WriteOffStatus.APPROVED: (),
    WriteOffStatus.REJECTED: (),
}


class DisputeStatus(models.TextChoices):
    OPEN = "open", "Open"
    WRITE_OFF_PENDING = "write_off_pending", "Write-off awaiting approval"
    CREDITED = "credited", "Resolved by credit note"
    REJECTED = "rejected", "Rejected"
    WRITTEN_OFF = "written_off", "Written off"


# A dispute is resolved once: by a credit note (whole or partial: the rest is due again), a rejection with a
# reason, or a write-off, which another finance user approves (four eyes, as any write-off); a refused write-off
# puts the dispute back to open.
DISPUTE_TRANSITIONS: dict[str, tuple[str, ...]] = {
    DisputeStatus.OPEN: (DisputeStatus.CREDITED, DisputeStatus.REJECTED, DisputeStatus.WRITE_OFF_PENDING),
    DisputeStatus.WRITE_OFF_PENDING: (DisputeStatus.WRITTEN_OFF, DisputeStatus.OPEN),
    DisputeStatus.CREDITED: (),
    DisputeStatus.REJECTED: (),
    DisputeStatus.WRITTEN_OFF: (),
}
# Open disputes pause dunning for their amount.
DISPUTE_OPEN_STATUSES = (DisputeStatus.OPEN, DisputeStatus.WRITE_OFF_PENDING)


class DisputeReason(models.TextChoices):
    PRICING = "pricing", "Price or rate not as agreed"
    HOURS = "hours", "Hours or quantity not as agreed"
    QUALITY = "quality", "Work not delivered or not accepted"
    DUPLICATE = "duplicate", "Billed twice"
    PO = "po", "Missing or wrong purchase order"
    OTHER = "other", "Other"


class DisputeChannel(models.TextChoices):
    PORTAL = "portal", "Client portal"
    FINANCE = "finance", "Finance"
    API = "api", "API"


# UN/ECE Rec 20 unit codes the lines use.
UNITS = {"HUR": "hours", "DAY": "days", "MON": "months", "C62": "units"}

# Dunning: (level, days after the due date, name). Each level is sent at most once per invoice; an invoice
# first found 65 days late gets the final notice only, never the two it missed.
DUNNING_LEVELS = ((1, 7, "First reminder"), (2, 30, "Second reminder"), (3, 60, "Final notice"))

AGING_BUCKETS = (("current", "Current"), ("d1_30", "1-30"), ("d31_60", "31-60"), ("d61_90", "61-90"), ("d90", "90+"))


# --- payables (vendor bills and payments out) --------------------------------------------------------------


class VendorBillStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    POSTED = "posted", "Approved and posted"
    PARTLY_PAID = "partly_paid", "Partly paid"
    PAID = "paid", "Paid"
    REJECTED = "rejected", "Rejected"


VB = VendorBillStatus
# A bill is entered as a draft, submitted for approval (the projects' managers above the threshold, then
# finance), posted to the books on finance's approval, and settled by payments. A rejected bill goes back to
# draft when corrected. A posted bill never changes; a wrong one is reversed by a credit from the vendor.
VENDOR_BILL_TRANSITIONS: dict[str, tuple[str, ...]] = {
    VB.DRAFT: (VB.AWAITING_APPROVAL,),
    VB.AWAITING_APPROVAL: (VB.POSTED, VB.REJECTED),
    VB.REJECTED: (VB.DRAFT,),
    VB.POSTED: (VB.PARTLY_PAID, VB.PAID),
    VB.PARTLY_PAID: (VB.PARTLY_PAID, VB.PAID),
    VB.PAID: (),
}
VENDOR_BILL_OPEN_STATUSES = (VB.POSTED, VB.PARTLY_PAID)


class VendorBillLineKind(models.TextChoices):
    """What a vendor-bill line buys, which decides its debit (DESIGN.md section 10, posting rules)."""

    PROJECT_COST = "project_cost", "Project cost"  # Dr Cost of services (project)
    REBILLABLE = "rebillable", "Re-billable project cost"  # Dr Re-billable costs (project), re-billed to the client
    SUBCONTRACT = "subcontract", "Subcontractor hours"  # Dr Accrued subcontractor costs (cleared against time)
    OVERHEAD = "overhead", "Overhead"  # Dr the chosen expense account, no project


class PurchaseTax(models.TextChoices):
    """How tax applies to a purchase: the vendor charged VAT (input VAT), or the buyer self-assesses it
    (reverse charge on services bought from another country), or none applies."""

    STANDARD = "standard", "VAT charged by the vendor"
    REVERSE_CHARGE = "reverse_charge", "Reverse charge (self-assessed)"
    NONE = "none", "No VAT"


class PaymentRunStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    EXPORTED = "exported", "File exported to the bank"
    BOOKED = "booked", "Booked as paid"
    CANCELLED = "cancelled", "Cancelled"


class CashFlowKind(models.TextChoices):
    """The rows of the cash forecast (billing.selectors.cash_forecast): four kinds of receipts, two of payments."""

    AR = "ar", "Open receivables"
    SCHEDULED = "scheduled", "Billing schedules and milestones"
    TM = "tm", "Time and materials run-rate"
    PIPELINE = "pipeline", "Weighted pipeline"
    PAYABLES = "payables", "Vendor bills"
    PAYROLL = "payroll", "Payroll"


class GoLiveStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    RECONCILED = "reconciled", "Reconciled"
    COMPLETE = "complete", "Complete"
    ROLLED_BACK = "rolled_back", "Rolled back"


# A go-live is drafted, imported into, reconciled (every check green) and completed; until it is complete its
# imports can be rolled back as a whole. An import after reconciliation sends it back to draft; completing
# re-runs the checks, so a draft whose checks are all green may complete directly.
GOLIVE_TRANSITIONS: dict[str, tuple[str, ...]] = {
    GoLiveStatus.DRAFT: (GoLiveStatus.RECONCILED, GoLiveStatus.COMPLETE, GoLiveStatus.ROLLED_BACK),
    GoLiveStatus.RECONCILED: (GoLiveStatus.DRAFT, GoLiveStatus.COMPLETE, GoLiveStatus.ROLLED_BACK),
    GoLiveStatus.COMPLETE: (),
    GoLiveStatus.ROLLED_BACK: (),
}
