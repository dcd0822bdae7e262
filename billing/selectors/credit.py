"""Reads for disputes and credit standing: the dispute list, dispute ageing and the disputed share of AR for the
dashboard, and each account's credit figures (AR, overdue, open disputes, average days to pay, hold) for the
account and opportunity pages and the CRM lists. Fixed query counts whatever the number of rows."""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db.models import (
    Avg,
    Count,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from billing.choices import DISPUTE_OPEN_STATUSES, OPEN_STATUSES, InvoiceKind, InvoiceStatus
from billing.models import Dispute, Invoice, PaymentAllocation
from crm.models import CreditHold
from crm.selectors import account_for_client_user
from psa.core.money import ZERO
from psa.core.roles import Role, has_role

MONEY = DecimalField(max_digits=18, decimal_places=2)
BALANCE = ExpressionWrapper(
    F("gross_total") - F("amount_paid") - F("amount_credited") - F("amount_written_off"), output_field=MONEY
)
# Dispute age buckets (days since opened): the dashboard's ageing.
DISPUTE_AGES = (("d0_7", "0-7 days", 0, 7), ("d8_30", "8-30 days", 8, 30), ("d31_60", "31-60 days", 31, 60),
                ("d60", "over 60 days", 61, None))  # fmt: skip
PAID_WINDOW_DAYS = 365  # average days to pay over the invoices paid in the last year


def disputes_for(user: User) -> QuerySet[Dispute]:
    """Finance and admins: every dispute; a client: its own account's; anyone else nothing."""
    qs = Dispute.objects.select_related("invoice", "account", "owner", "credit_note")
    if has_role(user, Role.FINANCE, Role.ADMIN):
        return qs
    if has_role(user, Role.CLIENT):
        account = account_for_client_user(user)
        return qs.filter(account=account) if account is not None else qs.none()
    return qs.none()


@dataclass
class CreditFigures:
    """One account's credit standing, per currency for the amounts (an account bills in its own currency; an
    invoice in another one is shown on its own line, never added)."""

    account_id: int
    open: dict[str, Decimal] = field(default_factory=dict)
    overdue: dict[str, Decimal] = field(default_factory=dict)
    disputed: dict[str, Decimal] = field(default_factory=dict)
    open_disputes: int = 0
    avg_days_to_pay: int | None = None
    hold: CreditHold | None = None

    @property
    def on_hold(self) -> bool:
        return self.hold is not None

    @property
    def currencies(self) -> list[str]:
        return sorted(set(self.open) | set(self.disputed))

    @property
    def rows(self) -> list[tuple[str, Decimal, Decimal, Decimal]]:
        return [
            (c, self.open.get(c, ZERO), self.overdue.get(c, ZERO), self.disputed.get(c, ZERO)) for c in self.currencies
        ]

    @property
    def has_overdue(self) -> bool:
        return any(v > 0 for v in self.overdue.values())


def account_credit(account_ids: list[int], *, as_of: date | None = None) -> dict[int, CreditFigures]:
    """{account id: figures} for the given accounts. Four queries whatever their number."""
    as_of = as_of or timezone.localdate()
    out = {pk: CreditFigures(account_id=pk) for pk in account_ids}
    if not account_ids:
        return out
    rows = (
        Invoice.objects.filter(account_id__in=account_ids, kind=InvoiceKind.INVOICE, status__in=OPEN_STATUSES)
        .values("account_id", "currency")
        .annotate(
            open=Coalesce(Sum(BALANCE), ZERO, output_field=MONEY),
            overdue=Coalesce(Sum(BALANCE, filter=Q(due_date__lt=as_of)), ZERO, output_field=MONEY),
        )
        .order_by()
    )
    for r in rows:
        out[r["account_id"]].open[r["currency"]] = r["open"]
        out[r["account_id"]].overdue[r["currency"]] = r["overdue"]
    disputes = (
        Dispute.objects.filter(account_id__in=account_ids, status__in=DISPUTE_OPEN_STATUSES)
        .values("account_id", "currency")
        .annotate(n=Count("id"), amount=Sum("amount"))
        .order_by()
    )
    for d in disputes:
        out[d["account_id"]].disputed[d["currency"]] = d["amount"]
        out[d["account_id"]].open_disputes += d["n"]
    # Days to pay: issue date to the day the last payment settling the invoice was received, over the invoices
    # fully paid in the last year.
    paid_on = (
        PaymentAllocation.objects.filter(invoice=OuterRef("pk"), payment__isnull=False)
        .values("invoice")
        .annotate(d=Max("payment__received_on"))
        .values("d")
    )
    days = (
        Invoice.objects.filter(
            account_id__in=account_ids,
            kind=InvoiceKind.INVOICE,
            status=InvoiceStatus.PAID,
            issue_date__gte=as_of - timedelta(days=PAID_WINDOW_DAYS),
        )
        .annotate(paid_on=Subquery(paid_on))
        .filter(paid_on__isnull=False)
        .values("account_id")
        .annotate(avg=Avg(ExpressionWrapper(F("paid_on") - F("issue_date"), output_field=DurationField())))
        .order_by()
    )
    for a in days:
        if a["avg"] is not None:
            out[a["account_id"]].avg_days_to_pay = round(a["avg"].total_seconds() / 86400)
    for hold in CreditHold.objects.filter(account_id__in=account_ids, released_at__isnull=True):
        out[hold.account_id].hold = hold
    return out


@dataclass
class DisputeSummary:
    """Open disputes by age and the disputed share of open AR, per currency."""

    as_of: date
    ages: list[dict] = field(default_factory=list)  # one row per currency: {currency, d0_7: (n, amount), ...}
    share: list[dict] = field(default_factory=list)  # {currency, disputed, ar, percent}
    open_count: int = 0
    oldest_days: int | None = None


def dispute_summary(*, as_of: date | None = None) -> DisputeSummary:
    """The dashboard's dispute card. Two queries."""
    as_of = as_of or timezone.localdate()
    now = timezone.now()
    aggregates: dict[str, Any] = {}
    for key, _label, lo, hi in DISPUTE_AGES:
        window = Q(opened_at__lte=now - timedelta(days=lo))
        if hi is not None:
            window &= Q(opened_at__gt=now - timedelta(days=hi + 1))
        aggregates[f"{key}_n"] = Count("id", filter=window)
        aggregates[f"{key}_amount"] = Coalesce(Sum("amount", filter=window), ZERO, output_field=MONEY)
    rows = (
        Dispute.objects.filter(status__in=DISPUTE_OPEN_STATUSES)
        .values("currency")
        .annotate(total=Sum("amount"), n=Count("id"), oldest=Max(now - F("opened_at")), **aggregates)
        .order_by("currency")
    )
    summary = DisputeSummary(as_of=as_of)
    disputed: dict[str, Decimal] = {}
    for r in rows:
        row: dict[str, Any] = dict(r)
        summary.ages.append(
            {"currency": row["currency"], **{k: (row[f"{k}_n"], row[f"{k}_amount"]) for k, *_ in DISPUTE_AGES}}
        )
        disputed[r["currency"]] = r["total"]
        summary.open_count += r["n"]
        days = r["oldest"].days if r["oldest"] is not None else None
        if days is not None and (summary.oldest_days is None or days > summary.oldest_days):
            summary.oldest_days = days
    ar = dict(
        Invoice.objects.filter(kind=InvoiceKind.INVOICE, status__in=OPEN_STATUSES)
        .values("currency")
        .annotate(ar=Sum(BALANCE))
        .order_by()
        .values_list("currency", "ar")
    )
    for currency in sorted(set(ar) | set(disputed)):
        whole, part = ar.get(currency) or ZERO, disputed.get(currency, ZERO)
        percent = (part * 100 / whole).quantize(Decimal("0.1")) if whole else None
        summary.share.append({"currency": currency, "disputed": part, "ar": whole, "percent": percent})
    return summary
