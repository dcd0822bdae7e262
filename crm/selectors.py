"""CRM reads that are more than a filter: client scoping, win readiness, board, forecast, win rate, sales
cycle and pipeline-weighted staffing demand. Each issues a fixed number of queries whatever the data size."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import connections
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Round, TruncMonth

from crm.choices import BillingModel, OpportunityStatus, StageKind
from crm.models import Account, Contact, CreditHold, Opportunity, RoleDemand, Stage
from crm.permissions import can_view_pipeline
from psa.core.dates import week_start
from psa.core.money import HOURS_PLACES, ZERO, round_to, sum_money
from psa.core.totals import CurrencyTotals, currency_totals_many

WEIGHTED = Round(
    ExpressionWrapper(F("amount") * F("probability") / Value(Decimal(100)), output_field=DecimalField()),
    2,
    output_field=DecimalField(max_digits=18, decimal_places=2),
)


def account_for_client_user(user: User) -> Account | None:
    """The account a client-portal user belongs to, or None (no contact with portal access)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    contact = Contact.objects.filter(user=user, portal_access=True).select_related("account").first()
    return contact.account if contact else None


def opportunities_for(user: User) -> QuerySet[Opportunity]:
    """Deals a user may see: the whole pipeline for sales, PMs, finance and admins; nothing for the rest."""
    if not can_view_pipeline(user):
        return Opportunity.objects.none()
    return Opportunity.objects.all()


def opportunity_list(user: User) -> QuerySet[Opportunity]:
    """The pipeline list; `account_on_hold` says whether the deal's account is on credit hold."""
    held = CreditHold.objects.filter(account=OuterRef("account_id"), released_at__isnull=True)
    return opportunities_for(user).select_related("account", "owner", "stage").annotate(account_on_hold=Exists(held))


# --- win readiness --------------------------------------------------------------------------------------
def win_missing_fields(opp: Opportunity) -> dict[str, list[str]]:
    """Every field a win needs that is missing or inconsistent, keyed by field name (empty = ready).

    Needed: an account that is a complete billing entity, at least one line, each with a billing model and a
    price (T&M: rate and hours; milestone: milestones summing to the price), service start and end, payment
    terms, service type, and a value above zero.
    """
    missing: dict[str, list[str]] = {}
    for name in opp.account.billing_entity_missing():
        label = opp.account._meta.get_field(name).verbose_name  # type: ignore[union-attr]  # a concrete field
        missing[f"account.{name}"] = [f"The account has no {label}."]
    if not opp.service_start:
        missing["service_start"] = ["The service start date is required."]
    if not opp.service_end:
        missing["service_end"] = ["The service end date is required."]
    if opp.payment_terms_days is None:
        missing["payment_terms_days"] = ["Payment terms are required."]
    if not opp.service_type:
        missing["service_type"] = ["The service type is required (it picks the project template)."]
    lines = list(opp.lines.prefetch_related("milestones"))
    if not lines:
        missing["lines"] = ["Add at least one line."]
    for i, line in enumerate(lines, start=1):
        key = f"lines[{i}]"
        if not line.billing_model:
            missing[f"{key}.billing_model"] = [f"Line {i} ({line.description}) has no billing model."]
            continue
        if line.billing_model == BillingModel.TIME_AND_MATERIALS:
            if line.rate is None:
                missing[f"{key}.rate"] = [f"Line {i} ({line.description}) has no rate."]
            if not line.hours:
                missing[f"{key}.hours"] = [f"Line {i} ({line.description}) has no hours."]
        elif not line.price:
            missing[f"{key}.price"] = [f"Line {i} ({line.description}) has no price."]
        if line.billing_model == BillingModel.MILESTONE and line.price:
            milestones = list(line.milestones.all())
            total = sum_money(m.amount for m in milestones)
            if not milestones:
                missing[f"{key}.milestones"] = [f"Line {i} ({line.description}) has no milestones."]
            elif total != line.price:
                missing[f"{key}.milestones"] = [
                    f"Line {i} milestones add up to {total}, the line price is {line.price}."
                ]
    if lines and opp.amount <= 0 and "amount" not in missing:
        missing["amount"] = ["The deal has no value."]
    return missing


# --- board ----------------------------------------------------------------------------------------------
@dataclass
class BoardColumn:
    """Totals are per currency (no implicit FX): [(currency, amount, weighted), ...]."""

    stage: Stage
    count: int = 0
    totals: list = field(default_factory=list)
    cards: list = field(default_factory=list)
    prev: Stage | None = None  # the stages a card can step back and on to (the board view sets them)
    next: Stage | None = None

    @property
    def more(self) -> int:
        # the count may come from totals reused for a bound (the board page), the cards are read on each view
        return max(0, self.count - len(self.cards))


def board_totals_query(queryset: QuerySet[Opportunity]) -> QuerySet:
    """The open deals' count, pipeline and weighted pipeline per stage and currency (no implicit FX)."""
    return (
        queryset.filter(status=OpportunityStatus.OPEN)
        .order_by()
        .values("stage_id", "currency")
        .annotate(n=Count("id"), pipeline=Sum("amount"), weighted=Sum(WEIGHTED))
        .order_by("stage_id", "currency")
    )


BoardTotals = list[tuple[int, str, int, Decimal, Decimal]]


def board_totals(queryset: QuerySet[Opportunity]) -> BoardTotals:
    """board_totals_query's rows as (stage id, currency, deals, pipeline, weighted)."""
    return [
        (r["stage_id"], r["currency"], r["n"], r["pipeline"] or ZERO, r["weighted"] or ZERO)
        for r in board_totals_query(queryset)
    ]


def board(
    queryset: QuerySet[Opportunity], *, per_column: int = 25, totals: BoardTotals | None = None
) -> list[BoardColumn]:
    """Open deals by open stage: totals per column and the first `per_column` cards (closing soonest). `totals`:
    board_totals already read (the board page reuses them across readers for a bound; psa.core.pagecache).

    Four queries whatever the number of deals: stages, per-stage totals, the first N ids of each stage (one
    `LIMIT` per stage, UNION ALL, each read from the open-deals index on (stage, expected close, id) so a stage
    reads N rows, not all its deals as a window over every open deal did), and those cards. On SQLite, which
    takes no LIMIT inside a UNION, the first ids are a query per stage.
    """
    stages = list(Stage.objects.filter(kind=StageKind.OPEN, is_active=True).order_by("order"))
    columns = {s.pk: BoardColumn(stage=s) for s in stages}
    open_deals = queryset.filter(status=OpportunityStatus.OPEN)
    for stage_id, currency, n, pipeline, weighted in board_totals(queryset) if totals is None else totals:
        col = columns.get(stage_id)
        if col:
            col.count += n
            col.totals.append((currency, pipeline, weighted))
    firsts = [
        open_deals.filter(stage_id=s.pk).order_by("expected_close_date", "id").values_list("id", flat=True)[:per_column]
        for s in stages
    ]
    if not firsts:
        ids: list[int] = []
    elif connections[open_deals.db].features.supports_slicing_ordering_in_compound:
        ids = list(firsts[0].union(*firsts[1:], all=True).order_by())
    else:  # SQLite (the demo) allows no LIMIT inside a UNION: a query per stage
        ids = [pk for first in firsts for pk in first]
    cards = (
        open_deals.filter(pk__in=ids)
        .select_related("account", "owner")
        .order_by("stage_id", "expected_close_date", "id")
        if ids
        else []
    )
    for card in cards:
        col = columns.get(card.stage_id)
        if col:
            col.cards.append(card)
    return [columns[s.pk] for s in stages]


# --- forecast -------------------------------------------------------------------------------------------
def forecast_by_month(queryset: QuerySet[Opportunity]) -> Sequence[Mapping[str, Any]]:
    """Pass a queryset of one currency: amounts are never added across currencies (no implicit FX).

    Weighted pipeline of open deals by expected close month: deals, pipeline (Σ amount) and weighted
    (Σ round(amount x probability / 100), each deal rounded once)."""
    return list(
        queryset.filter(status=OpportunityStatus.OPEN)
        .values(month=TruncMonth("expected_close_date"))
        .annotate(deals=Count("id"), pipeline=Sum("amount"), weighted=Sum(WEIGHTED))
        .order_by("month")
    )


def forecast_by_owner(queryset: QuerySet[Opportunity]) -> Sequence[Mapping[str, Any]]:
    return list(
        queryset.filter(status=OpportunityStatus.OPEN)
        .order_by()
        .values("owner_id", "owner__username", "owner__first_name", "owner__last_name")
        .annotate(deals=Count("id"), pipeline=Sum("amount"), weighted=Sum(WEIGHTED))
        .order_by("-weighted", "owner__username")
    )


def forecast_by_stage(queryset: QuerySet[Opportunity]) -> Sequence[Mapping[str, Any]]:
    return list(
        queryset.filter(status=OpportunityStatus.OPEN)
        .order_by()
        .values("stage_id", "stage__name", "stage__order")
        .annotate(deals=Count("id"), pipeline=Sum("amount"), weighted=Sum(WEIGHTED))
        .order_by("stage__order")
    )


@dataclass(frozen=True)
class ForecastRow:
    """One month, owner or stage of the all-currency forecast: deals, and pipeline and weighted per currency with
    their functional-currency total (psa.core.totals)."""

    key: Any
    label: str
    deals: int
    pipeline: CurrencyTotals
    weighted: CurrencyTotals


@dataclass(frozen=True)
class CurrencyForecast:
    """The forecast across currencies: every figure per currency, converted at the rates for `on`."""

    on: date
    months: list[ForecastRow]
    owners: list[ForecastRow]
    stages: list[ForecastRow]
    pipeline: CurrencyTotals
    weighted: CurrencyTotals

    @property
    def currencies(self) -> list[str]:
        return [line.currency for line in self.pipeline.lines]


def _owner_label(row: Mapping[str, Any]) -> str:
    if row["owner__first_name"]:
        return f"{row['owner__first_name']} {row['owner__last_name']}".strip()
    return row["owner__username"] or "—"


def forecast_all_currencies(queryset: QuerySet[Opportunity], *, on: date) -> CurrencyForecast:
    """The weighted pipeline of open deals by close month, owner and stage in every currency: each group's
    pipeline and weighted sums per deal currency (grouped in SQL) and their total in the functional currency at
    the rates for `on` (no figure adds two currencies unconverted; a missing rate gives no total and names the
    currency). Four queries whatever the data size: three grouped reads and one rate lookup."""
    open_deals = queryset.filter(status=OpportunityStatus.OPEN).order_by()
    sums = {"deals": Count("id"), "pipeline": Sum("amount"), "weighted": Sum(WEIGHTED)}
    groups: dict[str, list[tuple[Any, str, list]]] = {}
    plans: dict[str, tuple[Any, tuple[str, ...]]] = {  # values() querysets: rows are plain dicts
        "months": (open_deals.values("currency", month=TruncMonth("expected_close_date")), ("month",)),
        "owners": (
            open_deals.values("currency", "owner_id", "owner__username", "owner__first_name", "owner__last_name"),
            ("owner_id",),
        ),
        "stages": (
            open_deals.values("currency", "stage_id", "stage__name", "stage__order"),
            ("stage__order", "stage_id"),
        ),
    }
    for name, (values, order) in plans.items():
        keyed: dict[Any, tuple[str, list]] = {}
        for row in values.annotate(**sums).order_by(*order, "currency"):
            if name == "months":
                key, label = row["month"], f"{row['month']:%b %Y}" if row["month"] else "No close date"
            elif name == "owners":
                key, label = row["owner_id"], _owner_label(row)
            else:
                key, label = row["stage_id"], row["stage__name"]
            keyed.setdefault(key, (label, []))[1].append(row)
        groups[name] = [(key, label, rows) for key, (label, rows) in keyed.items()]
    columns: dict[str, list[tuple[str, Decimal]]] = {"pipeline": [], "weighted": []}
    for name, entries in groups.items():
        for i, (_key, _label, rows) in enumerate(entries):
            for part in ("pipeline", "weighted"):
                columns[f"{name}:{i}:{part}"] = [(r["currency"], r[part] or ZERO) for r in rows]
                if name == "months":
                    columns[part] += columns[f"{name}:{i}:{part}"]
    totals = currency_totals_many(columns, on=on)
    out: dict[str, list[ForecastRow]] = {}
    for name, entries in groups.items():
        out[name] = [
            ForecastRow(
                key=key,
                label=label,
                deals=sum(r["deals"] for r in rows),
                pipeline=totals[f"{name}:{i}:pipeline"],
                weighted=totals[f"{name}:{i}:weighted"],
            )
            for i, (key, label, rows) in enumerate(entries)
        ]
    out["owners"].sort(key=lambda r: (r.weighted.total is None, -(r.weighted.total or ZERO), r.label))
    return CurrencyForecast(
        on=on,
        months=out["months"],
        owners=out["owners"],
        stages=out["stages"],
        pipeline=totals["pipeline"],
        weighted=totals["weighted"],
    )


@dataclass
class WinStats:
    won: int
    lost: int
    win_rate: Decimal | None  # percent, one decimal
    avg_cycle_days: Decimal | None  # days from creation to win, one decimal


def win_stats(queryset: QuerySet[Opportunity], *, since: date | None = None) -> WinStats:
    """Win rate = won / (won + lost) among closed deals; average sales cycle = mean days from a deal's first
    stage-history row (its creation) to its win row. `since` limits both to deals closed on or after it.
    Two queries."""
    closed = queryset.filter(status__in=[OpportunityStatus.WON, OpportunityStatus.LOST])
    if since:
        closed = closed.filter(closed_at__date__gte=since)
    counts = closed.order_by().aggregate(
        won=Count("id", filter=Q(status=OpportunityStatus.WON)),
        lost=Count("id", filter=Q(status=OpportunityStatus.LOST)),
    )
    spans = (
        closed.filter(status=OpportunityStatus.WON)
        .order_by()
        .values("id")
        .annotate(
            started=Min("history__at"), won_at=Max("history__at", filter=Q(history__to_status=OpportunityStatus.WON))
        )
    )
    seconds = [(s["won_at"] - s["started"]).total_seconds() for s in spans if s["won_at"] and s["started"]]
    won, lost = counts["won"], counts["lost"]
    rate = round_to(Decimal(won * 100) / Decimal(won + lost), Decimal("0.1")) if won + lost else None
    cycle = (
        round_to(Decimal(str(sum(seconds))) / Decimal(86400) / Decimal(len(seconds)), Decimal("0.1"))
        if seconds
        else None
    )
    return WinStats(won=won, lost=lost, win_rate=rate, avg_cycle_days=cycle)


# --- pipeline-weighted staffing demand ------------------------------------------------------------------
@dataclass
class DemandGrid:
    weeks: list[date]
    rows: list[dict]  # {"role": str, "cells": [Decimal per week], "total": Decimal}
    peak: Decimal


def _week_share(hours: Decimal, d_start: date, d_end: date, week: date) -> Decimal:
    """The part of `hours`, spread evenly over the calendar days d_start..d_end, that falls in `week`."""
    lo, hi = max(week, d_start), min(week + timedelta(days=6), d_end)
    if hi < lo:
        return ZERO
    return hours * Decimal((hi - lo).days + 1) / Decimal((d_end - d_start).days + 1)


def weighted_demand(queryset: QuerySet[Opportunity], *, start: date, weeks: int = 12) -> DemandGrid:
    """Hours x probability per role per week from open deals' role demand, spread evenly over the calendar
    days of each demand's date range. One query; the spreading is arithmetic on the fetched rows."""
    first = week_start(start)
    last = first + timedelta(days=7 * weeks - 1)
    week_list = [first + timedelta(days=7 * i) for i in range(weeks)]
    demands = (
        RoleDemand.objects.filter(
            line__opportunity__in=queryset.filter(status=OpportunityStatus.OPEN).values("id"),
            start_date__lte=last,
            end_date__gte=first,
        )
        .order_by()
        .values_list("role__name", "hours", "start_date", "end_date", "line__opportunity__probability")
    )
    grid: dict[str, list[Decimal]] = {}
    for role, hours, d_start, d_end, probability in demands:
        cells = grid.setdefault(role, [Decimal(0)] * weeks)
        for i, wk in enumerate(week_list):
            cells[i] += _week_share(hours * Decimal(probability) / Decimal(100), d_start, d_end, wk)
    rows = []
    peak = ZERO
    for role in sorted(grid):
        cells = [round_to(c, HOURS_PLACES) for c in grid[role]]
        peak = max([peak, *cells])
        rows.append({"role": role, "cells": cells, "total": sum(cells, ZERO)})
    return DemandGrid(weeks=week_list, rows=rows, peak=peak)


@dataclass
class DemandDriver:
    opportunity_id: int
    name: str
    account: str
    stage: str
    probability: int
    hours: Decimal  # the deal's hours for the role in the week, before weighting
    weighted: Decimal  # hours x probability


def demand_drivers(*, role_name: str, week: date) -> list[DemandDriver]:
    """The open deals behind a role's pipeline-weighted demand in one week (the same spreading as
    `weighted_demand`), largest weighted hours first: what a manager reads to see which deals drive a gap."""
    first = week_start(week)
    last = first + timedelta(days=6)
    rows = (
        RoleDemand.objects.filter(
            role__name=role_name,
            line__opportunity__status=OpportunityStatus.OPEN,
            start_date__lte=last,
            end_date__gte=first,
        )
        .order_by()
        .values_list(
            "line__opportunity_id",
            "line__opportunity__name",
            "line__opportunity__account__name",
            "line__opportunity__stage__name",
            "line__opportunity__probability",
            "hours",
            "start_date",
            "end_date",
        )
    )
    by_deal: dict[int, DemandDriver] = {}
    for deal_id, name, account, stage, probability, hours, d_start, d_end in rows:
        share = _week_share(hours, d_start, d_end, first)
        driver = by_deal.setdefault(deal_id, DemandDriver(deal_id, name, account, stage or "", probability, ZERO, ZERO))
        driver.hours += share
        driver.weighted += share * Decimal(probability) / Decimal(100)
    out = []
    for driver in by_deal.values():
        driver.hours, driver.weighted = round_to(driver.hours, HOURS_PLACES), round_to(driver.weighted, HOURS_PLACES)
        out.append(driver)
    return sorted(out, key=lambda d: (-d.weighted, d.name, d.opportunity_id))
