"""Intercompany reads: what a month's recharge must hold (`recharge_plan`), what it holds already
(`recharge_posted`), and the matching report of both sides per entity pair and month (`ic_matching`).

The plan is ONE aggregate query over the month's approved time entries whose consultant's employing entity differs
from the project's entity, grouped by supplying entity, receiving entity, project, role, the transfer rate that
applies and the snapshot cost rate. The transfer rate of an entry is picked in the same query (a correlated
subquery): the rates of the pair valid on the work date, the one for the entry's role before the pair's rate for
every role, then the latest `valid_from`. A group's price is round(Σ hours x cost rate x (1 + markup / 100)) in the
functional currency, once per group (psa.core.money.round_amount), never per entry.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import F, Min, OuterRef, Q, QuerySet, Subquery, Sum

from crm.models import DeliveryRole
from ledger.choices import IC_RECEIVER_SIDE, IC_RECHARGE_SOURCE, IC_SUPPLIER_SIDE, SystemAccount
from ledger.models import JournalLine, TransferRate
from projects.calculations import ENTRY_ROLE
from projects.models import TimeEntry
from psa.core.currency import functional_currency
from psa.core.dates import month_end, month_start
from psa.core.models import LegalEntity
from psa.core.money import ZERO, round_amount

HUNDRED = Decimal(100)


def recharge_source(month: date, supplier_id: int, receiver_id: int, side: str) -> str:
    """The `source` of a recharge entry: the month, the pair and the side (supplier or receiver)."""
    return f"{IC_RECHARGE_SOURCE}{month:%Y-%m}:{supplier_id}-{receiver_id}:{side}"


def parse_recharge_source(source: str) -> tuple[str, int, int, str] | None:
    """(month label, supplier id, receiver id, side) of a recharge entry's source; None for any other."""
    try:
        _prefix, label, pair, side = source.split(":")
        supplier, receiver = pair.split("-")
        return label, int(supplier), int(receiver), side
    except ValueError:
        return None


@dataclass(frozen=True)
class MissingTransferRate:
    supplier: str
    receiver: str
    role: str
    on: date
    hours: Decimal

    @property
    def message(self) -> str:
        return (
            f"No transfer rate {self.supplier} → {self.receiver} for the role {self.role} on {self.on:%Y-%m-%d} "
            f"({self.hours} approved hours): add one under Ledger → Intercompany."
        )


@dataclass(frozen=True)
class MissingCostRate:
    supplier: str
    receiver: str
    role: str
    on: date
    hours: Decimal

    @property
    def message(self) -> str:
        return (
            f"Approved time {self.supplier} → {self.receiver} for the role {self.role} from {self.on:%Y-%m-%d} "
            f"({self.hours} hours) has no snapshot cost rate: set the consultant's cost rate and approve again."
        )


@dataclass
class PairPlan:
    """What one pair's recharge of the month must hold: the amount per project (with its client)."""

    supplier: LegalEntity
    receiver: LegalEntity
    hours: Decimal = ZERO
    by_project: dict[int, Decimal] = field(default_factory=dict)
    clients: dict[int, int] = field(default_factory=dict)

    @property
    def amount(self) -> Decimal:
        return sum(self.by_project.values(), ZERO)


@dataclass
class RechargePlan:
    month: date
    currency: str
    pairs: list[PairPlan]
    missing: list[MissingTransferRate | MissingCostRate]

    @property
    def hours(self) -> Decimal:
        return sum((p.hours for p in self.pairs), ZERO)

    @property
    def amount(self) -> Decimal:
        return sum((p.amount for p in self.pairs), ZERO)


def _rate_for_entry() -> Subquery:
    return Subquery(
        TransferRate.objects.filter(
            supplier_id=OuterRef("consultant__entity_id"),
            receiver_id=OuterRef("project__entity_id"),
            valid_from__lte=OuterRef("date"),
        )
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=OuterRef("date")))
        .filter(Q(role_id=OuterRef("ic_role")) | Q(role__isnull=True))
        .order_by(F("role_id").asc(nulls_last=True), "-valid_from", "-id")
        .values("markup_percent")[:1]
    )


def recharge_groups(month: date) -> QuerySet:
    """The month's cross-entity approved time, one row per supplier x receiver x project x role x markup x cost
    rate with its hours and first work date (one query)."""
    start, end = month_start(month), month_end(month)
    return (
        TimeEntry.objects.filter(status="approved", date__gte=start, date__lte=end)
        .exclude(consultant__entity_id=F("project__entity_id"))
        .annotate(ic_role=ENTRY_ROLE)
        .annotate(ic_markup=_rate_for_entry())
        .values(
            "ic_role",
            "ic_markup",
            "cost_rate",
            "project_id",
            supplier_id=F("consultant__entity_id"),
            receiver_id=F("project__entity_id"),
            client_id=F("project__account_id"),
        )
        .annotate(group_hours=Sum("hours"), first_date=Min("date"))
        .order_by()
    )


def recharge_plan(month: date) -> RechargePlan:
    """What the month's recharge must hold per entity pair and project, and every group that cannot be priced
    (no transfer rate, no cost rate) by name. Three queries: the groups, the entities, the roles."""
    currency = functional_currency()
    rows = list(recharge_groups(month))
    entities = {
        e.pk: e for e in LegalEntity.objects.filter(pk__in={r[k] for r in rows for k in ("supplier_id", "receiver_id")})
    }
    roles = dict(DeliveryRole.objects.filter(pk__in={r["ic_role"] for r in rows}).values_list("pk", "name"))
    pairs: dict[tuple[int, int], PairPlan] = {}
    missing: list[MissingTransferRate | MissingCostRate] = []
    for row in sorted(rows, key=lambda r: (r["supplier_id"], r["receiver_id"], r["project_id"], r["first_date"])):
        supplier, receiver = entities[row["supplier_id"]], entities[row["receiver_id"]]
        role = roles.get(row["ic_role"], "(none)")
        if row["ic_markup"] is None:
            missing.append(
                MissingTransferRate(supplier.code, receiver.code, role, row["first_date"], row["group_hours"])
            )
            continue
        if row["cost_rate"] is None:
            missing.append(MissingCostRate(supplier.code, receiver.code, role, row["first_date"], row["group_hours"]))
            continue
        pair = pairs.setdefault((supplier.pk, receiver.pk), PairPlan(supplier=supplier, receiver=receiver))
        value = round_amount(row["group_hours"] * row["cost_rate"] * (HUNDRED + row["ic_markup"]) / HUNDRED, currency)
        pair.hours += row["group_hours"]
        pair.by_project[row["project_id"]] = pair.by_project.get(row["project_id"], ZERO) + value
        pair.clients[row["project_id"]] = row["client_id"]
    # One refusal per pair, role and first date (a role's groups at several cost rates name it once).
    seen: set[tuple] = set()
    unique = []
    for m in missing:
        key = (type(m), m.supplier, m.receiver, m.role)
        if key not in seen:
            seen.add(key)
            unique.append(m)
    ordered = sorted(pairs.values(), key=lambda p: (p.supplier.code, p.receiver.code))
    return RechargePlan(month=month_start(month), currency=currency, pairs=ordered, missing=unique)


def recharge_posted(month: date) -> dict[tuple[int, int], dict[str, dict[int | None, Decimal]]]:
    """What the month's recharge entries hold already: per pair, per side, per project (None on the supplier
    side and for the intercompany accounts) the debit-positive amount on the cost or revenue account. One query."""
    prefix = f"{IC_RECHARGE_SOURCE}{month:%Y-%m}:"
    rows = (
        JournalLine.objects.filter(
            entry__source__startswith=prefix,
            account__system_role__in=[SystemAccount.COST_OF_SERVICES, SystemAccount.IC_REVENUE],
        )
        .values("entry__source", "project_id")
        .annotate(d=Sum("debit"), c=Sum("credit"))
        .order_by()
    )
    out: dict[tuple[int, int], dict[str, dict[int | None, Decimal]]] = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        parsed = parse_recharge_source(row["entry__source"])
        if parsed is None:
            continue
        _label, supplier, receiver, side = parsed
        project = row["project_id"] if side == IC_RECEIVER_SIDE else None
        held = out[(supplier, receiver)][side]
        held[project] = held.get(project, ZERO) + row["d"] - row["c"]
    return out


@dataclass
class MatchingRow:
    month: str
    supplier: LegalEntity
    receiver: LegalEntity
    receivable: Decimal = ZERO  # the supplier's intercompany receivable (debit-positive)
    revenue: Decimal = ZERO  # the supplier's intercompany revenue (credit-positive)
    cost: Decimal = ZERO  # the receiver's cost of services from the recharge (debit-positive)
    payable: Decimal = ZERO  # the receiver's intercompany payable (credit-positive)

    @property
    def balance_difference(self) -> Decimal:
        return self.receivable - self.payable

    @property
    def result_difference(self) -> Decimal:
        return self.revenue - self.cost

    @property
    def matched(self) -> bool:
        return not self.balance_difference and not self.result_difference


_SIDES: dict[tuple[str, str | None], tuple[str, int]] = {
    (IC_SUPPLIER_SIDE, SystemAccount.IC_RECEIVABLE): ("receivable", 1),
    (IC_SUPPLIER_SIDE, SystemAccount.IC_REVENUE): ("revenue", -1),
    (IC_RECEIVER_SIDE, SystemAccount.COST_OF_SERVICES): ("cost", 1),
    (IC_RECEIVER_SIDE, SystemAccount.IC_PAYABLE): ("payable", -1),
}


def ic_matching(*, year: int | None = None, entity_id: int | None = None) -> list[MatchingRow]:
    """Per entity pair and month: the supplier's intercompany receivable and revenue against the receiver's
    intercompany payable and cost of services, read from the recharge entries of each side's books (lines joined
    to their entry's entity). Two queries: the sums, the entities."""
    lines = JournalLine.objects.filter(
        entry__source__startswith=IC_RECHARGE_SOURCE, account__system_role__in=[r for _s, r in _SIDES]
    )
    if year is not None:
        lines = lines.filter(entry__source__startswith=f"{IC_RECHARGE_SOURCE}{year:04d}-")
    sums = list(
        lines.values("entry__source", "entry__entity_id", "account__system_role")
        .annotate(d=Sum("debit"), c=Sum("credit"))
        .order_by()
    )
    out: dict[tuple[str, int, int], dict[str, Decimal]] = {}
    for row in sums:
        parsed = parse_recharge_source(row["entry__source"])
        if parsed is None:
            continue
        label, supplier, receiver, side = parsed
        if entity_id is not None and entity_id not in (supplier, receiver):
            continue
        name_sign = _SIDES.get((side, row["account__system_role"]))
        books = supplier if side == IC_SUPPLIER_SIDE else receiver
        if name_sign is None or row["entry__entity_id"] != books:
            continue
        name, sign = name_sign
        values = out.setdefault((label, supplier, receiver), {})
        values[name] = values.get(name, ZERO) + sign * (row["d"] - row["c"])
    ids = {i for _label, s, r in out for i in (s, r)}
    entities = {e.pk: e for e in LegalEntity.objects.filter(pk__in=ids)}
    rows = [
        MatchingRow(month=label, supplier=entities[s], receiver=entities[r], **values)
        for (label, s, r), values in out.items()
    ]
    return sorted(rows, key=lambda r: (r.month, r.supplier.code, r.receiver.code))
