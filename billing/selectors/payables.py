"""Accounts payable reads: who sees which vendor bills, the approval queue, AP aging and the AP control.

- `bills_for(user)`: finance and administrators see every bill; a project manager the bills with a line on a
  project they manage; anyone else none (their pages and the API answer 403 before this).
- `bills_waiting_for(user)`: finance's queue is every bill awaiting approval (its page says which managers'
  approvals are still outstanding); a manager's is every bill awaiting approval with a line on a project they
  manage that they have not approved yet (whether that project is above the threshold shows on the bill's page).
- `ap_aging`: open bills (posted, partly paid) by vendor, entity and currency in buckets of days past due:
  current (not yet due), 1-30, 31-60, 61-90, 90+. Amounts in the bill's currency; one query.
- `ap_control`: the reconciliation DESIGN.md 5.13 asks for, per entity: the credit balance of the payable account
  in the GL = the open bills' functional open amounts (functional gross less the paid share at the booked rate,
  rounded per bill). A difference is shown, never hidden.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Round

from billing.choices import VENDOR_BILL_OPEN_STATUSES, VendorBillStatus
from billing.models import VendorBill, VendorBillApproval, VendorBillLine
from ledger.choices import SystemAccount
from ledger.selectors import cumulative
from psa.core.money import ZERO
from psa.core.roles import Role, has_role

MONEY = DecimalField(max_digits=18, decimal_places=2)
OPEN = ExpressionWrapper(F("gross_total") - F("amount_paid"), output_field=MONEY)
FUNCTIONAL_OPEN = ExpressionWrapper(
    F("functional_gross") - Round(F("functional_gross") * F("amount_paid") / F("gross_total"), 2),
    output_field=MONEY,
)


def bills_for(user: User) -> QuerySet[VendorBill]:
    if has_role(user, Role.FINANCE, Role.ADMIN):
        return VendorBill.objects.all()
    if has_role(user, Role.PROJECT_MANAGER):
        mine = VendorBillLine.objects.filter(bill_id=OuterRef("pk"), project__project_manager=user)
        return VendorBill.objects.filter(Exists(mine))
    return VendorBill.objects.none()


def bills_waiting_for(user: User) -> QuerySet[VendorBill]:
    """The bills waiting for `user`'s approval (rules in the module docstring). The threshold is applied when
    the manager opens the bill; the queue lists every bill awaiting approval on their projects not yet approved."""
    waiting = VendorBill.objects.filter(status=VendorBillStatus.AWAITING_APPROVAL)
    if has_role(user, Role.FINANCE, Role.ADMIN):
        return waiting
    if not has_role(user, Role.PROJECT_MANAGER):
        return VendorBill.objects.none()
    approved = VendorBillApproval.objects.filter(bill_id=OuterRef("bill_id"), project_id=OuterRef("project_id"))
    todo = VendorBillLine.objects.filter(bill_id=OuterRef("pk"), project__project_manager=user).filter(
        ~Exists(approved)
    )
    return waiting.filter(Exists(todo))


@dataclass
class ApAgingRow:
    vendor_id: int
    vendor: str
    entity_id: int
    entity: str
    currency: str
    bills: int = 0
    current: Decimal = ZERO
    d1_30: Decimal = ZERO
    d31_60: Decimal = ZERO
    d61_90: Decimal = ZERO
    d90: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.current + self.d1_30 + self.d31_60 + self.d61_90 + self.d90


@dataclass
class ApAging:
    as_of: date
    rows: list[ApAgingRow] = field(default_factory=list)

    def by_currency(self) -> dict[str, ApAgingRow]:
        """Totals per currency (never across currencies)."""
        out: dict[str, ApAgingRow] = {}
        for row in self.rows:
            total = out.setdefault(row.currency, ApAgingRow(0, "Total", 0, "", row.currency))
            for name in ("bills", "current", "d1_30", "d31_60", "d61_90", "d90"):
                setattr(total, name, getattr(total, name) + getattr(row, name))
        return out


def _bucket(q: Q) -> Coalesce:
    return Coalesce(Sum(OPEN, filter=q), Value(ZERO), output_field=MONEY)


def ap_aging(*, as_of: date | None = None, entity_id: int | None = None, vendor_id: int | None = None) -> ApAging:
    """Open bills by vendor, entity and currency in buckets of days past due (one query)."""
    as_of = as_of or date.today()
    bills = VendorBill.objects.filter(status__in=VENDOR_BILL_OPEN_STATUSES, bill_date__lte=as_of)
    if entity_id:
        bills = bills.filter(entity_id=entity_id)
    if vendor_id:
        bills = bills.filter(vendor_id=vendor_id)

    def days(n: int) -> date:
        return as_of - timedelta(days=n)

    rows = (
        bills.values("vendor_id", "vendor__name", "entity_id", "entity__name", "currency")
        .annotate(
            n=Count("id"),
            current=_bucket(Q(due_date__gte=as_of)),
            d1_30=_bucket(Q(due_date__lt=as_of, due_date__gte=days(30))),
            d31_60=_bucket(Q(due_date__lt=days(30), due_date__gte=days(60))),
            d61_90=_bucket(Q(due_date__lt=days(60), due_date__gte=days(90))),
            d90=_bucket(Q(due_date__lt=days(90))),
        )
        .order_by("vendor__name", "vendor_id", "entity_id", "currency")
    )
    aging = ApAging(as_of=as_of)
    for r in rows:
        aging.rows.append(
            ApAgingRow(
                vendor_id=r["vendor_id"],
                vendor=r["vendor__name"],
                entity_id=r["entity_id"],
                entity=r["entity__name"],
                currency=r["currency"],
                bills=r["n"],
                current=r["current"],
                d1_30=r["d1_30"],
                d31_60=r["d31_60"],
                d61_90=r["d61_90"],
                d90=r["d90"],
            )
        )
    return aging


@dataclass(frozen=True)
class ApControl:
    entity_id: int
    at: date
    ledger: Decimal  # credit balance of the payable account
    open_bills: Decimal  # Σ functional open amounts of open bills
    bills: int

    @property
    def difference(self) -> Decimal:
        return self.ledger - self.open_bills

    @property
    def reconciled(self) -> bool:
        return self.difference == 0


def open_bills_functional(*, entity_id: int, at: date | None = None) -> tuple[Decimal, int]:
    """Σ functional open amount and count of the entity's open bills (dated on or before `at`)."""
    bills = VendorBill.objects.filter(entity_id=entity_id, status__in=VENDOR_BILL_OPEN_STATUSES)
    if at is not None:
        bills = bills.filter(bill_date__lte=at)
    row = bills.aggregate(total=Coalesce(Sum(FUNCTIONAL_OPEN), Value(ZERO), output_field=MONEY), n=Count("id"))
    return row["total"], row["n"]


def ap_control(*, entity_id: int, at: date | None = None) -> ApControl:
    """The payable account's balance in the GL against the open bills (module docstring). Two queries."""
    at = at or date.today()
    totals = cumulative(at=at, filters=Q(account__system_role=SystemAccount.PAYABLE), entity_id=entity_id)
    debit = sum((d for d, _ in totals.values()), ZERO)
    credit = sum((c for _, c in totals.values()), ZERO)
    open_total, n = open_bills_functional(entity_id=entity_id, at=at)
    return ApControl(entity_id=entity_id, at=at, ledger=credit - debit, open_bills=open_total, bills=n)
