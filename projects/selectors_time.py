"""Reads for staffing and time: the week grid, the approval queue, missing time, capacity and utilization.
Each is a fixed number of queries whatever the number of rows; sums happen in SQL."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.contrib.auth.models import User
from django.db.models import DecimalField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Concat, NullIf, Trim

from projects.models import (
    Allocation,
    Consultant,
    EntryStatus,
    Expense,
    Project,
    Task,
    TimeEntry,
    TimeOff,
)
from psa.core.roles import Role, has_role

ZERO = Decimal("0.00")


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


# --- scoping --------------------------------------------------------------------------------------------
def time_entries_for(user: User) -> QuerySet[TimeEntry]:
    """What a user may see: admins and finance all; PMs their projects' entries and their own; a consultant
    only their own."""
    qs = TimeEntry.objects.all()
    if has_role(user, Role.ADMIN, Role.FINANCE):
        return qs
    if has_role(user, Role.PROJECT_MANAGER):
        return qs.filter(Q(project__project_manager=user) | Q(consultant__user=user))
    return qs.filter(consultant__user=user)


def expenses_for(user: User) -> QuerySet[Expense]:
    qs = Expense.objects.all()
    if has_role(user, Role.ADMIN, Role.FINANCE):
        return qs
    if has_role(user, Role.PROJECT_MANAGER):
        return qs.filter(Q(project__project_manager=user) | Q(consultant__user=user))
    return qs.filter(consultant__user=user)


def allocations_for(user: User) -> QuerySet[Allocation]:
    qs = Allocation.objects.all()
    if has_role(user, Role.ADMIN, Role.FINANCE, Role.PROJECT_MANAGER):
        return qs
    return qs.filter(consultant__user=user)


# --- the week grid --------------------------------------------------------------------------------------
@dataclass
class GridRow:
    project: Project
    task: Task | None
    cells: list  # per day: TimeEntry | None
    total: Decimal = ZERO
    days: list = field(default_factory=list)

    @property
    def slots(self) -> list[tuple[date, TimeEntry | None]]:
        return list(zip(self.days, self.cells, strict=True))

    @property
    def key(self) -> str:
        return f"{self.project.pk}-{self.task.pk if self.task else 0}"


@dataclass
class WeekGrid:
    monday: date
    days: list[date]
    rows: list[GridRow]
    day_totals: list[Decimal]
    total: Decimal
    statuses: set[str] = field(default_factory=set)
    rejected: list[TimeEntry] = field(default_factory=list)
    allocated_projects: list[Project] = field(default_factory=list)

    @property
    def editable(self) -> bool:
        return not self.rows or any(
            c is None or c.status in (EntryStatus.DRAFT, EntryStatus.REJECTED) for r in self.rows for c in r.cells
        )

    @property
    def status_label(self) -> tuple[str, str]:
        """(label, Bootstrap tone) of the week as a whole."""
        if not self.statuses:
            return "Empty", "secondary"
        if self.has_drafts:
            return ("Sent back" if EntryStatus.REJECTED in self.statuses else "Draft"), "warning"
        if EntryStatus.SUBMITTED in self.statuses:
            return "Waiting for approval", "primary"
        return "Approved · locked", "success"

    @property
    def has_drafts(self) -> bool:
        return bool(self.statuses & {EntryStatus.DRAFT, EntryStatus.REJECTED})


def timesheet_week(
    *, consultant: Consultant, monday: date, extra_rows: Iterable[tuple[int, int | None]] = ()
) -> WeekGrid:
    """One row per project/task the consultant is allocated to this week or has time on (plus added rows),
    one column per day. Three queries, whatever the number of rows and entries."""
    days = [monday + timedelta(days=i) for i in range(7)]
    sunday = days[-1]
    entries = list(
        TimeEntry.objects.filter(consultant=consultant, date__gte=monday, date__lte=sunday)
        .select_related("project", "task")
        .order_by("project__code", "task__order", "date")
    )
    allocated = list(
        Project.objects.filter(
            allocations__consultant=consultant, allocations__start_date__lte=sunday, allocations__end_date__gte=monday
        )
        .distinct()
        .prefetch_related("tasks")
        .order_by("code")
    )
    rows: dict[tuple, GridRow] = {}
    by_project = {p.pk: p for p in allocated}
    for e in entries:
        by_project.setdefault(e.project_id, e.project)
    for project in allocated:
        rows[(project.pk, None)] = GridRow(project, None, [None] * 7)
    for pid, tid in extra_rows:
        if pid not in by_project:
            continue
        project = by_project[pid]
        task = (
            next((t for t in project.tasks.all() if t.pk == tid), None)
            if tid and pid in {p.pk for p in allocated}
            else None
        )
        rows.setdefault((pid, task.pk if task else None), GridRow(project, task, [None] * 7))
    for e in entries:
        row = rows.setdefault((e.project_id, e.task_id), GridRow(e.project, e.task, [None] * 7))
        row.cells[(e.date - monday).days] = e
    day_totals = [ZERO] * 7
    statuses = set()
    for row in rows.values():
        row.days = days
        for i, c in enumerate(row.cells):
            if c is not None:
                row.total += c.hours
                day_totals[i] += c.hours
                statuses.add(c.status)
    ordered = sorted(
        rows.values(), key=lambda r: (r.project.code, r.task.order if r.task else 0, r.task.pk if r.task else 0)
    )
    return WeekGrid(
        monday=monday,
        days=days,
        rows=ordered,
        day_totals=day_totals,
        total=sum(day_totals, ZERO),
        statuses=statuses,
        rejected=[e for e in entries if e.status == EntryStatus.REJECTED and e.rejection_reason],
        allocated_projects=allocated,
    )


# --- approvals ------------------------------------------------------------------------------------------
def approval_queue(user: User) -> QuerySet[TimeEntry]:
    """Submitted entries waiting for this PM (all of them for an admin), oldest first."""
    qs = TimeEntry.objects.filter(status=EntryStatus.SUBMITTED)
    if not has_role(user, Role.ADMIN):
        qs = qs.filter(project__project_manager=user)
    return qs.select_related("consultant__user", "project", "task").order_by("consultant_id", "date", "pk")


def expense_queue(user: User) -> QuerySet[Expense]:
    qs = Expense.objects.filter(status=EntryStatus.SUBMITTED)
    if not has_role(user, Role.ADMIN):
        qs = qs.filter(project__project_manager=user)
    return qs.select_related("consultant__user", "project").order_by("date", "pk")


# --- capacity and missing time --------------------------------------------------------------------------
def _weekdays(a: date, b: date) -> int:
    """Monday-to-Friday days in [a, b], in constant time."""
    if b < a:
        return 0
    days = (b - a).days + 1
    full, rest = divmod(days, 7)
    extra = sum(1 for i in range(rest) if (a.weekday() + i) % 7 < 5)
    return full * 5 + extra


def time_off_hours(
    *, consultant_ids: Iterable[int] | QuerySet, first: date, last: date
) -> dict[tuple[int, date], Decimal]:
    """Hours of time off per (consultant, week) between two dates: weekdays in the overlap x hours per day.
    `consultant_ids`: a list, or a queryset of consultant pks (sent as a subquery). One query; the arithmetic is
    on the (few) time-off rows."""
    out: dict[tuple[int, date], Decimal] = defaultdict(Decimal)
    rows = TimeOff.objects.filter(consultant_id__in=consultant_ids, start_date__lte=last, end_date__gte=first)
    for off in rows.values_list("consultant_id", "start_date", "end_date", "hours_per_day"):
        cid, a, b, per_day = off
        wk = week_start(max(a, first))
        while wk <= min(b, last):
            lo, hi = max(a, wk, first), min(b, wk + timedelta(days=6), last)
            if hi >= lo:
                out[(cid, wk)] += per_day * _weekdays(lo, hi)
            wk += timedelta(days=7)
    return out


@dataclass
class MissingTime:
    consultant: Consultant
    expected: Decimal
    logged: Decimal

    @property
    def missing(self) -> Decimal:
        return self.expected - self.logged


def missing_time(*, week: date) -> list[MissingTime]:
    """Active consultants whose hours logged in the week (any status) are below their capacity less time
    off. Two queries."""
    monday = week_start(week)
    sunday = monday + timedelta(days=6)
    logged = Subquery(
        TimeEntry.objects.filter(consultant=OuterRef("pk"), date__gte=monday, date__lte=sunday)
        .order_by()
        .values("consultant")
        .annotate(h=Sum("hours"))
        .values("h")[:1],
        output_field=DecimalField(max_digits=9, decimal_places=2),
    )
    consultants = list(
        Consultant.objects.filter(is_active=True, weekly_capacity__gt=0)
        .select_related("user", "role")
        .annotate(logged=Coalesce(logged, Value(ZERO)))
    )
    off = time_off_hours(consultant_ids=[c.pk for c in consultants], first=monday, last=sunday)
    out = []
    for c in consultants:
        expected = max(ZERO, c.weekly_capacity - off.get((c.pk, monday), ZERO))
        if c.logged < expected:
            out.append(MissingTime(c, expected, c.logged))
    return sorted(out, key=lambda m: (-m.missing, str(m.consultant)))


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


def _months(start: date, end: date) -> list[tuple[date, date]]:
    out, m = [], start.replace(day=1)
    while m <= end:
        nxt = (m.replace(day=28) + timedelta(days=4)).replace(day=1)
        out.append((max(m, start), min(nxt - timedelta(days=1), end)))
        m = nxt
    return out


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
    from django.db.models.functions import TruncMonth

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


def utilization(*, start: date, end: date, by: str = "consultant", consultant_id: int | None = None) -> list[UtilRow]:
    """Approved hours against capacity (weekly capacity x weekdays / 5, less time off) with targets, per
    consultant, role or month. Three queries whatever the number of entries: the hours are summed in SQL."""
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
    months = [(a, b, _weekdays(a, b)) for a, b in _months(start, end)]
    span = Decimal(_weekdays(start, end)) / 5
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
    return _weekdays(max(a1, a2), min(b1, b2))


@dataclass
class Candidate:
    consultant: Consultant
    capacity: Decimal
    booked: Decimal
    skill_level: int | None

    @property
    def free(self) -> Decimal:
        return max(ZERO, self.capacity - self.booked)


def consultant_search(
    *, role_id: int | None, start: date, end: date, skill_id: int | None = None, min_level: int = 1,
    min_free_hours: Decimal = ZERO,
) -> list[Candidate]:  # fmt: skip
    """Active consultants of a role (and skill at a level) with their free hours in [start, end]: capacity
    less time off less every allocation (hard and soft) overlapping the window. Four queries."""
    from projects.models import ConsultantSkill

    qs = Consultant.objects.filter(is_active=True).select_related("user", "role")
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
    ids = [c.pk for c in consultants]
    booked: dict[int, Decimal] = defaultdict(Decimal)
    for cid, hpw, a, b in Allocation.objects.filter(
        consultant_id__in=ids, start_date__lte=end, end_date__gte=start
    ).values_list("consultant_id", "hours_per_week", "start_date", "end_date"):
        booked[cid] += hpw * _overlap_weekdays(a, b, start, end) / 5
    off = time_off_hours(consultant_ids=ids, first=start, last=end)
    off_total: dict[int, Decimal] = defaultdict(Decimal)
    for (cid, _wk), h in off.items():
        off_total[cid] += h
    days = _weekdays(start, end)
    out = []
    for c in consultants:
        cap = max(ZERO, c.weekly_capacity * days / 5 - off_total.get(c.pk, ZERO))
        cand = Candidate(c, cap.quantize(Decimal("0.01")), booked[c.pk].quantize(Decimal("0.01")), levels.get(c.pk))
        if cand.free >= min_free_hours:
            out.append(cand)
    return sorted(out, key=lambda x: (-x.free, str(x.consultant)))


@dataclass
class HeatRow:
    label: str
    cells: list  # per week: {"capacity", "hard", "soft", "load" (percent), "demand"?}


def capacity_heatmap(*, start: date, weeks: int = 12) -> tuple[list[date], list[HeatRow]]:
    """Per consultant and week: hard and soft booked hours against capacity less time off. Three queries."""
    first = week_start(start)
    week_list = [first + timedelta(days=7 * i) for i in range(weeks)]
    last = week_list[-1] + timedelta(days=6)
    consultants = list(Consultant.objects.filter(is_active=True).select_related("user", "role"))
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
        rows.append(HeatRow(f"{c} · {c.role.name}", cells))
    return week_list, rows


def role_bench_vs_demand(*, start: date, weeks: int = 12) -> tuple[list[date], list[dict]]:
    """Per role and week: bench hours (capacity less time off less hard and soft bookings) against the
    pipeline-weighted demand of open deals (crm.selectors.weighted_demand)."""
    from crm.models import Opportunity
    from crm.selectors import weighted_demand

    week_list, rows = capacity_heatmap(start=start, weeks=weeks)
    consultants = list(
        Consultant.objects.filter(is_active=True)
        .select_related("role")
        .order_by("user__last_name", "user__first_name", "id")
    )
    bench: dict[str, list[Decimal]] = {}
    for c, row in zip(consultants, rows, strict=False):
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
                    {"bench": x.quantize(Decimal("0.1")), "demand": y, "gap": (x - y).quantize(Decimal("0.1"))}
                    for x, y in zip(b, d, strict=True)
                ],
            }
        )
    return week_list, out
