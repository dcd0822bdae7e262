"""Retainage reads: what a contract holds back, has released and still holds; retainage by account for AR aging."""

from datetime import date
from decimal import Decimal

from django.db.models import Q, Sum

from billing.choices import InvoiceKind, InvoiceStatus
from billing.models import Invoice, RetainageRelease
from projects.models import ContractLine
from psa.core.money import ZERO

_ISSUED_HOLDING = Q(kind=InvoiceKind.INVOICE, number__isnull=False, retainage_total__gt=0)
_RELEASED = Q(undone_at__isnull=True) & ~Q(line__invoice__status__in=[InvoiceStatus.DRAFT, InvoiceStatus.CANCELLED])


def contract_retainage_summary(*, contract_id: int) -> dict:
    """Retainage on a contract: held back in total, taken back by credit notes, released (on issued release
    invoices), pending (on a release draft) and still held. Four queries."""
    agg = Invoice.objects.filter(_ISSUED_HOLDING, contract_id=contract_id).aggregate(
        total=Sum("retainage_total"), credited=Sum("retainage_credited")
    )
    releases = RetainageRelease.objects.filter(held_on__contract_id=contract_id)
    released = releases.filter(_RELEASED).aggregate(s=Sum("amount"))["s"] or ZERO
    pending = (
        releases.filter(undone_at__isnull=True, line__invoice__status=InvoiceStatus.DRAFT).aggregate(s=Sum("amount"))[
            "s"
        ]
        or ZERO
    )
    total, credited = agg["total"] or ZERO, agg["credited"] or ZERO
    return {
        "total": total,
        "credited": credited,
        "released": released,
        "pending": pending,
        "held": total - credited - released,
        "lines_with_retainage": ContractLine.objects.filter(contract_id=contract_id, retainage_percent__gt=0).count(),
    }


def retainage_held_by_account(
    *, account_ids: list[int] | None = None, entity_id: int | None = None, as_of: date | None = None
) -> dict[tuple[int, str], Decimal]:
    """Retainage still held (not yet on an issued release invoice) per (account, currency): what sits on the
    retainage receivable in the GL. Two grouped queries whatever the number of invoices. With `as_of`, held on
    invoices issued by then and not released by then (release invoices issued after it still hold it)."""
    held = Invoice.objects.filter(_ISSUED_HOLDING)
    released = RetainageRelease.objects.filter(_RELEASED)
    if account_ids is not None:
        held = held.filter(account_id__in=account_ids)
        released = released.filter(held_on__account_id__in=account_ids)
    if entity_id is not None:
        held = held.filter(entity_id=entity_id)
        released = released.filter(held_on__entity_id=entity_id)
    if as_of is not None:
        held = held.filter(issue_date__lte=as_of)
        released = released.filter(held_on__issue_date__lte=as_of, line__invoice__issue_date__lte=as_of)
    out: dict[tuple[int, str], Decimal] = {}
    for r in (
        held.values("account_id", "currency").annotate(t=Sum("retainage_total"), c=Sum("retainage_credited")).order_by()
    ):
        out[(r["account_id"], r["currency"])] = r["t"] - r["c"]
    for acc, currency, amount in (
        released.values("held_on__account_id", "held_on__currency")
        .annotate(s=Sum("amount"))
        .order_by()
        .values_list("held_on__account_id", "held_on__currency", "s")
    ):
        out[(acc, currency)] = out.get((acc, currency), ZERO) - amount
    return {k: v for k, v in out.items() if v}
