"""Reads for staffing: utilization against capacity and targets, free hours per consultant for a resource
request, the capacity heatmap and the bench per role against pipeline-weighted demand. Each is a fixed number
of queries whatever the number of rows; sums happen in SQL."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import NamedTuple

from django.db.models import Q, Sum, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Trim, TruncMonth

from crm.models import Opportunity
from crm.selectors import weighted_demand
from projects.choices import EntryStatus
from projects.models import Allocation, Consultant, ConsultantSkill, ResourceRequest, TimeEntry
from projects.selectors.time import ZERO, time_off_hours
from psa.core.dates import month_spans, week_start, weekdays_between
from psa.core.money import round_to


# --- utilization ----------------------------------------------------------------------------------------
@dataclass
class UtilRow:
    key: str
    label: str
    capacity: Decimal
    billable: Decimal
    non_billable: Decimal
    target: Decimal  # percent

    @property
    def utilization(self) -> Decimal:
        """Billable hours as a percent of capacity."""
        return (self.billable * 100 / self.capacity).quantize(Decimal("0.1")) if self.capacity else Decimal("0.0")

    @property
    def total_utilization(self) -> Decimal:
        total = self.billable + self.non_billable
        return (total * 100 / self.capacity).quantize(Decimal("0.1")) if self.capacity else Decimal("0.0")

    @property
    def below_target(self) -> bool:
        return self.utilization < self.target

    def as_dict(self) -> dict:
        return {
            "key": self.key, "label": self.label, "capacity": self.capacity, "billable": self.billable,
            "non_billable": self.non_billable, "target": self.target, "utilization": self.utilization,
            "total_utilization": self.total_utilization,
        }  # fmt: skip


# A consultant's name as `str(consultant)` gives it (the user's full name, else the username), in SQL.
CONSULTANT_NAME = Coalesce(
    NullIf(Trim(Concat("user__first_name", Value(" "), "user__last_name")), Value("")), "user__username"
)


class _CapacityRow(NamedTuple):
    pk: int
    role_id: int
    role_name: str
    weekly_capacity: Decimal
    utilization_target: int
    name: str


def utilization_actuals(*, start: date, end: date, by: str, consultant_id: int | None = None) -> dict:
    """Approved hours split billable / non-billable, grouped in SQL: {key: (billable, non_billable)}."""
    qs = TimeEntry.objects.filter(status=EntryStatus.APPROVED, date__gte=start, date__lte=end)
    if consultant_id is not None:
        qs = qs.filter(consultant_id=consultant_id)
    group = {"consultant": "consultant_id", "role": "consultant__role_id", "month": "month"}[by]
    if by == "month":
        qs = qs.annotate(month=TruncMonth("date"))
    rows = (
        qs.order_by()
        .values(group)
        .annotate(b=Sum("hours", filter=Q(billable=True)), n=Sum("hours", filter=Q(billable=False)))
        .values_list(group, "b", "n")
    )
    return {k: (b or ZERO, n or ZERO) for k, b, n in rows}


def utilization(
    *, start: date, end: date, by: str = "consultant", consultant_id: int | None = None, actuals: dict | None = None
) -> list[UtilRow]:
    """Approved hours against capacity (weekly capacity x weekdays / 5, less time off) with targets, per
    consultant, role or month. Three queries whatever the number of entries: the hours are summed in SQL.
    `actuals` ({key: (billable, non_billable)}, as `utilization_actuals` gives them) replaces that sum when the
    caller read them from a summary (the dashboard reads billing's approved-time summary)."""
    if actuals is None:
        actuals = utilization_actuals(start=start, end=end, by=by, consultant_id=consultant_id)
    active = Consultant.objects.filter(is_active=True).order_by()
    if consultant_id is not None:
        active = active.filter(pk=consultant_id)
    # Plain rows, not model instances: the report needs six columns of every active consultant.
    consultants = [
        _CapacityRow(*row)
        for row in active.annotate(label=CONSULTANT_NAME).values_list(
            "pk", "role_id", "role__name", "weekly_capacity", "utilization_target", "label"
        )
    ]
    off = time_off_hours(consultant_ids=active.values("pk"), first=start, last=end)
    off_by_consultant: dict[int, Decimal] = defaultdict(Decimal)
    for (cid, _wk), h in off.items():
        off_by_consultant[cid] += h
    months = [(a, b, weekdays_between(a, b)) for a, b in month_spans(start, end)]
    span = Decimal(weekdays_between(start, end)) / 5
    groups: dict = {}
    for c in consultants:
        if by == "month":
            for a, _b, n in months:
                cap = c.weekly_capacity * n / 5
                g = groups.setdefault(a.replace(day=1), [a.strftime("%b %Y"), ZERO, ZERO])
                g[1] += cap
                g[2] += cap * c.utilization_target
            continue
        cap = max(ZERO, c.weekly_capacity * span - off_by_consultant.get(c.pk, ZERO))
        key, label = (c.pk, c.name) if by == "consultant" else (c.role_id, c.role_name)
        g = groups.setdefault(key, [label, ZERO, ZERO])
        g[1] += cap
        g[2] += cap * c.utilization_target
    if by == "month":  # time off lands in the month of its week
        for (_cid, wk), h in off.items():
            month = max(wk, start).replace(day=1)
            if month in groups:
                groups[month][1] -= h
    out = []
    for key, (label, cap, weighted) in groups.items():
        b, n = actuals.get(key, (ZERO, ZERO))
        target = (weighted / cap).quantize(Decimal("0.1")) if cap else Decimal("0.0")
        out.append(UtilRow(str(key), label, cap.quantize(Decimal("0.01")), b, n, target))
    return sorted(out, key=lambda r: r.key if by == "month" else r.label)


# --- staffing: free hours, heatmaps ---------------------------------------------------------------------
def _overlap_weekdays(a1: date, b1: date, a2: date, b2: date) -> int:
    return weekdays_between(max(a1, a2), min(b1, b2))


@dataclass
class Candidate:
    consultant: Consultant
    capacity: Decimal
    booked: Decimal
    skill_level: int | None
    weeks: Decimal = Decimal("1")  # the window in weeks of five weekdays
    suggested: Decimal = ZERO  # hours per week to suggest for a request: never more than is free

    @property
    def free(self) -> Decimal:
        """Capacity less bookings in the window; negative when the consultant is over-booked."""
        return self.capacity - self.booked


def capacity_and_booked(
    consultant_ids: list[int], *, start: date, end: date, exclude_allocation_id: int | None = None
) -> dict[int, tuple[Decimal, Decimal]]:
    """{consultant: (capacity less time off, hours booked by every allocation, hard and soft)} over the weekdays
    of [start, end]. Three queries."""
    booked: dict[int, Decimal] = defaultdict(Decimal)
    allocations = Allocation.objects.filter(consultant_id__in=consultant_ids, start_date__lte=end, end_date__gte=start)
    if exclude_allocation_id is not None:
        allocations = allocations.exclude(pk=exclude_allocation_id)
    for cid, hpw, a, b in allocations.values_list("consultant_id", "hours_per_week", "start_date", "end_date"):
        booked[cid] += hpw * _overlap_weekdays(a, b, start, end) / 5
    off = time_off_hours(consultant_ids=consultant_ids, first=start, last=end)
    off_total: dict[int, Decimal] = defaultdict(Decimal)
    for (cid, _wk), h in off.items():
        off_total[cid] += h
    days = weekdays_between(start, end)
    capacity = dict(Consultant.objects.filter(pk__in=consultant_ids).values_list("pk", "weekly_capacity"))
    return {
        cid: (
            max(ZERO, cap * days / 5 - off_total.get(cid, ZERO)).quantize(Decimal("0.01")),
            booked[cid].quantize(Decimal("0.01")),
        )
        for cid, cap in capacity.items()
    }


def consultant_search(
    *, role_id: int | None, start: date, end: date, skill_id: int | None = None, min_level: int = 1,
    min_free_hours: Decimal | None = None,
) -> list[Candidate]:  # fmt: skip
    """Active consultants of a role (and skill at a level) with their free hours in [start, end]: capacity
    less time off less every allocation (hard and soft) overlapping the window. Free hours can be negative
    (over-booked); `min_free_hours` keeps only those with at least that much. Five queries."""
    qs = Consultant.objects.filter(is_active=True).select_related("user", "role", "entity")
    if role_id:
        qs = qs.filter(role_id=role_id)
    levels: dict[int, int] = {}
    if skill_id:
        levels = dict(
            ConsultantSkill.objects.filter(skill_id=skill_id, level__gte=min_level).values_list(
                "consultant_id", "level"
            )
        )
        qs = qs.filter(pk__in=list(levels))
    consultants = list(qs)
    figures = capacity_and_booked([c.pk for c in consultants], start=start, end=end)
    weeks = Decimal(weekdays_between(start, end)) / 5 or Decimal("1")
    out = []
    for c in consultants:
        cap, booked = figures.get(c.pk, (ZERO, ZERO))
        cand = Candidate(c, cap, booked, levels.get(c.pk), weeks=weeks)
        if min_free_hours is None or cand.free >= min_free_hours:
            out.append(cand)
    return sorted(out, key=lambda x: (-x.free, str(x.consultant)))


def request_remaining(request_ids: Iterable[int]) -> dict[int, Decimal]:
    """{resource request: hours still to staff}: its hours less the hours of every allocation made from it
    (hard and soft), counted on the weekdays the allocation shares with the request's dates. Two queries."""
    requests = {
        pk: (hours, a, b)
        for pk, hours, a, b in ResourceRequest.objects.filter(pk__in=list(request_ids)).values_list(
            "pk", "hours", "start_date", "end_date"
        )
    }
    staffed: dict[int, Decimal] = defaultdict(Decimal)
    for rid, hpw, a, b in Allocation.objects.filter(resource_request_id__in=list(requests)).values_list(
        "resource_request_id", "hours_per_week", "start_date", "end_date"
    ):
        _hours, ra, rb = requests[rid]
        staffed[rid] += hpw * _overlap_weekdays(a, b, ra, rb) / 5
    return {pk: max(ZERO, hours - staffed[pk]).quantize(Decimal("0.01")) for pk, (hours, _a, _b) in requests.items()}


def _half_hours_down(value: Decimal) -> Decimal:
    return (value * 2).to_integral_value(rounding=ROUND_FLOOR) / 2


def staffing_suggestions(
    *, request_id: int, start: date | None = None, end: date | None = None, skill_id: int | None = None,
    min_level: int = 1, role_id: int | None = None,
) -> list[Candidate]:  # fmt: skip
    """Candidates for a resource request, each with the hours per week to suggest: the request's remaining
    hours spread over the window, but never more than the candidate's free hours (nothing when over-booked).
    Best fit first: most hours suggested, then skill level, then free hours."""
    rr = ResourceRequest.objects.get(pk=request_id)
    start, end = start or rr.start_date, end or rr.end_date
    candidates = consultant_search(
        role_id=role_id or rr.role_id, start=start, end=end, skill_id=skill_id, min_level=min_level
    )
    remaining = request_remaining([rr.pk]).get(rr.pk, ZERO)
    for c in candidates:
        need = remaining / c.weeks
        c.suggested = _half_hours_down(max(ZERO, min(need, c.free / c.weeks)))
    return sorted(candidates, key=lambda c: (-c.suggested, -(c.skill_level or 0), -c.free, str(c.consultant)))


@dataclass
class HeatRow:
    label: str
    cells: list  # per week: {"capacity", "hard", "soft", "load" (percent), "demand"?}
    consultant: Consultant | None = None  # whose row it is (the role bench and the cash forecast group by it)


def capacity_heatmap(*, start: date, weeks: int = 12) -> tuple[list[date], list[HeatRow]]:
    """Per consultant and week: hard and soft booked hours against capacity less time off, one row per active
    consultant by name. Three queries; a page computes it once and hands it to role_bench_vs_demand."""
    first = week_start(start)
    week_list = [first + timedelta(days=7 * i) for i in range(weeks)]
    last = week_list[-1] + timedelta(days=6)
    consultants = list(
        Consultant.objects.filter(is_active=True)
        .select_related("user", "role")
        .order_by("user__last_name", "user__first_name", "id")
    )
    ids = [c.pk for c in consultants]
    hard: dict[tuple[int, date], Decimal] = defaultdict(Decimal)
    soft: dict[tuple[int, date], Decimal] = defaultdict(Decimal)
    for cid, hpw, a, b, kind in Allocation.objects.filter(
        consultant_id__in=ids, start_date__lte=last, end_date__gte=first
    ).values_list("consultant_id", "hours_per_week", "start_date", "end_date", "kind"):
        for wk in week_list:
            n = _overlap_weekdays(a, b, wk, wk + timedelta(days=6))
            if n:
                (hard if kind == "hard" else soft)[(cid, wk)] += hpw * n / 5
    off = time_off_hours(consultant_ids=ids, first=first, last=last)
    rows = []
    for c in consultants:
        cells = []
        for wk in week_list:
            cap = max(ZERO, c.weekly_capacity - off.get((c.pk, wk), ZERO))
            h, s = hard[(c.pk, wk)], soft[(c.pk, wk)]
            load = int((h + s) * 100 / cap) if cap else (0 if not (h + s) else 999)
            cells.append({"capacity": cap, "hard": h.quantize(Decimal("0.1")), "soft": s.quantize(Decimal("0.1")),
                          "load": load})  # fmt: skip
        rows.append(HeatRow(f"{c} · {c.role.name}", cells, consultant=c))
    return week_list, rows


def role_bench_vs_demand(
    *, start: date, weeks: int = 12, heat: tuple[list[date], list[HeatRow]] | None = None
) -> tuple[list[date], list[dict]]:
    """Per role and week: bench hours (capacity less time off less hard and soft bookings) against the
    pipeline-weighted demand of open deals (crm.selectors.weighted_demand). `heat` is capacity_heatmap's
    result for the same start and weeks when the caller has it already (the heatmap page), so the matrix is
    computed once per view."""
    week_list, rows = heat if heat is not None else capacity_heatmap(start=start, weeks=weeks)
    bench: dict[str, list[Decimal]] = {}
    for row in rows:
        c = row.consultant
        assert c is not None  # capacity_heatmap names every row's consultant
        cells = bench.setdefault(c.role.name, [ZERO] * weeks)
        for i, cell in enumerate(row.cells):
            cells[i] += max(ZERO, cell["capacity"] - cell["hard"] - cell["soft"])
    demand = weighted_demand(Opportunity.objects.all(), start=start, weeks=weeks)
    wanted = {r["role"]: r["cells"] for r in demand.rows}
    out = []
    for role in sorted(set(bench) | set(wanted)):
        b = bench.get(role, [ZERO] * weeks)
        d = wanted.get(role, [ZERO] * weeks)
        out.append(
            {
                "role": role,
                "cells": [
                    {
                        "week": w,
                        "bench": round_to(x, Decimal("0.1")),
                        "demand": y,
                        "gap": round_to(x - y, Decimal("0.1")),
                    }
                    for w, x, y in zip(week_list, b, d, strict=True)
                ],
            }
        )
    return week_list, out
