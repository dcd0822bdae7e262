"""Traceability of re-billed vendor costs: for the lines of an invoice that re-bill vendor costs, which vendor,
which of its bills (with a link to the bill's page) and how much. Two queries whatever the number of lines."""

from dataclasses import dataclass
from decimal import Decimal

from django.urls import reverse

from billing.choices import SourceKind
from billing.models import SourceLink, VendorBillLine


def vendor_bill_url(bill_id: int) -> str:
    return reverse("billing:vendor-bill", args=[bill_id])


@dataclass(frozen=True)
class VendorCostTrace:
    vendor_bill_line_id: int
    vendor: str
    bill_id: int
    bill_number: str
    cost: Decimal  # the vendor's net, in the bill's currency
    cost_currency: str
    billed: Decimal  # what this invoice line bills for it (the link's amount)
    released: bool
    url: str


def vendor_costs_by_line(line_ids: list[int]) -> dict[int, list[VendorCostTrace]]:
    """Invoice line id -> the vendor costs it re-bills (links of kind vendor_cost), oldest bill first."""
    links = list(
        SourceLink.objects.filter(line_id__in=line_ids, kind=SourceKind.VENDOR_COST).values(
            "line_id", "source_id", "amount", "released_at"
        )
    )
    if not links:
        return {}
    bill_lines = {
        ln.pk: ln
        for ln in VendorBillLine.objects.filter(pk__in=[lk["source_id"] for lk in links]).select_related("bill__vendor")
    }
    out: dict[int, list[VendorCostTrace]] = {}
    for lk in links:
        ln = bill_lines.get(lk["source_id"])
        if ln is None:
            continue
        out.setdefault(lk["line_id"], []).append(
            VendorCostTrace(
                vendor_bill_line_id=ln.pk,
                vendor=ln.bill.vendor.name,
                bill_id=ln.bill_id,
                bill_number=ln.bill.number,
                cost=ln.net_amount,
                cost_currency=ln.bill.currency,
                billed=lk["amount"],
                released=lk["released_at"] is not None,
                url=vendor_bill_url(ln.bill_id),
            )
        )
    for traces in out.values():
        traces.sort(key=lambda t: (t.bill_id, t.vendor_bill_line_id))
    return out
