"""Saved cash forecasts and their accuracy: a past snapshot's receipts and payments bucket by bucket against the
cash that actually came in (payments received) and went out (vendor payments posted).

Both sides in the functional currency: the forecast at the rates of its day (as saved), the actuals at the rate of
each payment's own date (as booked). Payroll is forecast but not recorded as cash in PSA (the payroll system pays
it), so the payments compared are the vendor-bill ones; the page says so."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import User
from django.db.models import QuerySet, Sum

from billing.choices import CashFlowKind
from billing.models import CashForecastLine, CashForecastSnapshot, Payment, VendorPayment
from billing.selectors.cash_forecast import INFLOWS
from psa.core.money import ZERO
from psa.core.roles import Role, has_role


def snapshots_for(user: User) -> QuerySet[CashForecastSnapshot]:
    if not has_role(user, Role.FINANCE, Role.ADMIN):
        return CashForecastSnapshot.objects.none()
    return CashForecastSnapshot.objects.select_related("created_by").order_by("-as_of", "-pk")


@dataclass(frozen=True)
class AccuracyRow:
    start: date
    end: date
    receipts_forecast: Decimal | None
    receipts_actual: Decimal
    payments_forecast: Decimal | None
    payments_actual: Decimal
    complete: bool  # the bucket has ended: its actuals are final

    @property
    def receipts_error(self) -> Decimal | None:
        return None if self.receipts_forecast is None else self.receipts_actual - self.receipts_forecast

    @property
    def payments_error(self) -> Decimal | None:
        return None if self.payments_forecast is None else self.payments_actual - self.payments_forecast


def snapshot_accuracy(snapshot: CashForecastSnapshot, *, granularity: str, today: date) -> list[AccuracyRow]:
    """The buckets of `snapshot` that have started by `today`, forecast against actual. Three queries."""
    lines = (
        CashForecastLine.objects.filter(snapshot=snapshot, granularity=granularity, bucket_start__lte=today)
        .order_by("bucket_start")
        .values_list("bucket_start", "bucket_end", "kind", "functional")
    )
    buckets: dict[date, dict] = {}
    for start, end, kind, functional in lines:
        b = buckets.setdefault(start, {"end": end, "in": ZERO, "out": ZERO, "missing": False})
        if functional is None:
            b["missing"] = True
            continue
        if kind in INFLOWS:
            b["in"] += functional
        elif kind == CashFlowKind.PAYABLES:
            b["out"] += functional
    if not buckets:
        return []
    first, last = min(buckets), max(b["end"] for b in buckets.values())
    received = dict(
        Payment.objects.filter(received_on__gte=first, received_on__lte=last, functional_amount__isnull=False)
        .values_list("received_on")
        .annotate(s=Sum("functional_amount"))
        .order_by()
    )
    paid = dict(
        VendorPayment.objects.filter(
            paid_on__gte=first, paid_on__lte=last, journal_entry__isnull=False, functional_amount__isnull=False
        )
        .values_list("paid_on")
        .annotate(s=Sum("functional_amount"))
        .order_by()
    )
    rows = []
    for start in sorted(buckets):
        b = buckets[start]
        end = b["end"]
        rows.append(
            AccuracyRow(
                start=start,
                end=end,
                receipts_forecast=None if b["missing"] else b["in"],
                receipts_actual=sum((v for d, v in received.items() if start <= d <= end), ZERO),
                payments_forecast=None if b["missing"] else b["out"],
                payments_actual=sum((v for d, v in paid.items() if start <= d <= end), ZERO),
                complete=end < today,
            )
        )
    return rows
