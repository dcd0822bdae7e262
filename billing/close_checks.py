"""Billing's items of the month-end checklist (ledger.selectors.close), supplied down to the ledger.

`CLOSE_CHECKS` is named by the composition root (settings.PSA_CLOSE_CHECKS) and handed to the ledger's checklist
as extra checks; nothing is registered at start-up and the ledger never imports billing (DESIGN.md section 2).
- draft invoices: drafts whose period ends in or before the month (issue or discard them);
- unallocated payments: payments received by the month end with money not yet allocated to invoices;
- approved, unbilled time: approved billable time dated by the month end with no live source link;
- vendor bills waiting: bills dated by the month end still draft or awaiting approval (their cost is not in the
  month's books yet);
- AP control: per legal entity, the payable account's balance at the month end against the open vendor bills'
  functional open amounts (DESIGN.md 5.13); each entity that does not reconcile counts, the amount is the sum of
  the differences.
Price cuts are not a check: billing tells the ledger about each price-cutting credit note when it issues it
(billing.services.posting -> ledger.services.price_reductions).
"""

from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.urls import reverse

from billing.choices import InvoiceStatus, SourceKind, VendorBillStatus
from billing.models import Invoice, Payment, SourceLink, VendorBill
from billing.selectors.payables import ap_control
from ledger.selectors.close import Check, CheckResult
from projects.models import TimeEntry
from psa.core.models import LegalEntity
from psa.core.money import ZERO


def draft_invoices(period) -> CheckResult:
    drafts = Invoice.objects.filter(status=InvoiceStatus.DRAFT).filter(
        Q(period_end__lte=period.end) | Q(period_end__isnull=True)
    )
    row = drafts.aggregate(n=Count("id"), net=Sum("net_total"))
    n = row["n"]
    detail = f"{n} draft invoice{_s(n)} for this month or earlier, not issued yet" if n else "No draft invoices."
    return CheckResult(count=n, amount=row["net"], url=reverse("billing:invoice-list") + "?status=draft", detail=detail)


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def unallocated_payments(period) -> CheckResult:
    open_ = Payment.objects.filter(received_on__lte=period.end, amount_allocated__lt=F("amount"))
    row = open_.aggregate(n=Count("id"), total=Sum(F("amount") - F("amount_allocated")))
    n = row["n"]
    detail = (
        f"{n} payment{_s(n)} received by the month end not fully allocated to invoices"
        if n
        else ("Every payment is allocated.")
    )
    return CheckResult(count=n, amount=row["total"], url=reverse("billing:payment-list"), detail=detail)


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


def vendor_bills_waiting(period) -> CheckResult:
    waiting = VendorBill.objects.filter(
        status__in=(VendorBillStatus.DRAFT, VendorBillStatus.AWAITING_APPROVAL), bill_date__lte=period.end
    )
    n = waiting.count()
    detail = f"{n} vendor bill{_s(n)} in draft or awaiting approval" if n else "No vendor bill waiting."
    return CheckResult(count=n, url=reverse("billing:vendor-bill-queue"), detail=detail)


def ap_reconciliation(period) -> CheckResult:
    differences = [
        control
        for entity_id in LegalEntity.objects.values_list("pk", flat=True)
        if not (control := ap_control(entity_id=entity_id, at=period.end)).reconciled
    ]
    return CheckResult(
        count=len(differences),
        amount=sum((c.difference for c in differences), ZERO) if differences else None,
        url=reverse("billing:ap-aging"),
        detail="; ".join(f"entity {c.entity_id}: GL {c.ledger} vs bills {c.open_bills}" for c in differences),
    )


CLOSE_CHECKS = (
    Check(key="unbilled_time", label="Approved time not yet billed", check=unbilled_time, order=20),
    Check(key="draft_invoices", label="Draft invoices", check=draft_invoices, order=30),
    Check(key="unallocated_payments", label="Unallocated payments", check=unallocated_payments, order=50),
    Check(key="vendor_bills_waiting", label="Vendor bills not yet approved", check=vendor_bills_waiting, order=55),
    Check(key="ap_control", label="AP control = open vendor bills", check=ap_reconciliation, order=60),
)
