"""Billing's items of the month-end checklist (ledger.selectors.close), supplied down to the ledger.

`CLOSE_CHECKS` is named by the composition root (settings.PSA_CLOSE_CHECKS) and handed to the ledger's checklist
as extra checks; nothing is registered at start-up and the ledger never imports billing (DESIGN.md section 2).
- draft invoices: drafts whose period ends in or before the month (issue or discard them);
- unallocated payments: payments received by the month end with money not yet allocated to invoices;
- approved, unbilled time: approved billable time dated by the month end with no live source link.
Price cuts are not a check: billing tells the ledger about each price-cutting credit note when it issues it
(billing.services.posting -> ledger.services.price_reductions).
"""

from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.urls import reverse

from billing.choices import InvoiceStatus, SourceKind
from billing.models import Invoice, Payment, SourceLink
from ledger.selectors.close import Check, CheckResult
from projects.models import TimeEntry


def draft_invoices(period) -> CheckResult:
    drafts = Invoice.objects.filter(status=InvoiceStatus.DRAFT).filter(
        Q(period_end__lte=period.end) | Q(period_end__isnull=True)
    )
    row = drafts.aggregate(n=Count("id"), net=Sum("net_total"))
    return CheckResult(
        count=row["n"], amount=row["net"], url=reverse("billing:invoice-list") + "?status=draft", detail="Drafts"
    )


def unallocated_payments(period) -> CheckResult:
    open_ = Payment.objects.filter(received_on__lte=period.end, amount_allocated__lt=F("amount"))
    row = open_.aggregate(n=Count("id"), total=Sum(F("amount") - F("amount_allocated")))
    return CheckResult(count=row["n"], amount=row["total"], url=reverse("billing:payment-list"), detail="Unallocated")


def unbilled_time(period) -> CheckResult:
    billed = SourceLink.objects.filter(kind=SourceKind.TIME_ENTRY, source_id=OuterRef("pk"), released_at__isnull=True)
    rows = (
        TimeEntry.objects.filter(status="approved", billable=True, date__lte=period.end)
        .filter(~Exists(billed))
        .aggregate(n=Count("id"), hours=Sum("hours"))
    )
    return CheckResult(
        count=rows["n"], url=reverse("billing:run-list"), detail=f"{rows['hours'] or 0} hours approved, not billed"
    )


CLOSE_CHECKS = (
    Check(key="unbilled_time", label="Approved time not yet billed", check=unbilled_time, order=20),
    Check(key="draft_invoices", label="Draft invoices", check=draft_invoices, order=30),
    Check(key="unallocated_payments", label="Unallocated payments", check=unallocated_payments, order=50),
)
