"""What billing tells the ledger's month-end (ledger.selectors.close): three checklist items and the price cuts.

Registered from BillingConfig.ready(), so the ledger never imports billing (DESIGN.md section 2).
- draft invoices: drafts whose period ends in or before the month (issue or discard them);
- unallocated payments: payments received by the month end with money not yet allocated to invoices;
- approved, unbilled time: approved billable time dated by the month end with no live source link;
- price reductions: issued credit notes that credit a plain amount (no source released), per project, by the
  date asked. Line or source credit notes release what they credit so it can be billed again; those are not a
  price cut and recognition ignores them.
"""

from datetime import date
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.urls import reverse

from billing.choices import FINAL_STATUSES, InvoiceKind, InvoiceStatus, SourceKind
from billing.models import Invoice, InvoiceLine, Payment, SourceLink
from ledger.selectors.close import CheckResult, register_check, register_price_reductions
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


def price_reductions(project_ids: list[int], as_of: date) -> dict[int, Decimal]:
    lines = (
        InvoiceLine.objects.filter(
            invoice__kind=InvoiceKind.CREDIT_NOTE,
            invoice__status__in=FINAL_STATUSES,
            invoice__project_id__in=project_ids,
            invoice__issue_date__lte=as_of,
            credited_line__isnull=True,
        )
        .values("invoice__project_id")
        .annotate(total=Sum("net"))
        .order_by()
    )
    return {r["invoice__project_id"]: r["total"] for r in lines}


def register() -> None:
    register_check(key="unbilled_time", label="Approved time not yet billed", check=unbilled_time, order=20)
    register_check(key="draft_invoices", label="Draft invoices", check=draft_invoices, order=30)
    register_check(key="unallocated_payments", label="Unallocated payments", check=unallocated_payments, order=50)
    register_price_reductions(price_reductions)
