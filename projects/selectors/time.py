"""Reads for time: who sees which entries, the week grid, the approval queue, time off and missing time
(utilization and staffing reads are in projects.selectors.staffing). Each is a fixed number of queries
whatever the number of rows; sums happen in SQL."""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from projects.choices import EntryStatus
from projects.models import Allocation, Consultant, Expense, Project, Task, TimeEntry, TimeOff
from psa.core.dates import week_start, weekdays_between
from psa.core.roles import Role, has_role

ZERO = Decimal("0.00")


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
    *, consultant: Consultant, monday: date, extra_rows: Sequence[tuple[int, int | None]] = ()
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
    project: Project | None  # each allocated project, then each added row's (None: not the consultant's)
    for project in allocated:
        rows[(project.pk, None)] = GridRow(project, None, [None] * 7)
    for pid, tid in extra_rows:
        project = by_project.get(pid)
        if project is None:
            continue
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


@dataclass
class ApprovalGroup:
    """One consultant's submitted week on the approver's projects, with what deserves a second look."""

    consultant: Consultant
    week: date
    entries: list[TimeEntry]
    hours: Decimal  # submitted hours in this group
    week_hours: Decimal  # the consultant's submitted and approved hours that week, on every project
    capacity: Decimal  # weekly capacity less time off
    anomalies: list[str]
    long_days: frozenset[date] = frozenset()  # days above PSA_TIME_DAY_WARN_HOURS, highlighted on their rows

    @property
    def key(self) -> str:
        return f"{self.consultant.pk}-{self.week:%Y%m%d}"


USUAL_WEEKS = 8  # the weeks before a submitted week that make a consultant's "usual week"
USUAL_FACTOR = Decimal("1.5")  # a week this many times the usual one is flagged


def _daily_totals(consultant_ids: Iterable[int], first: date, last: date) -> dict[tuple[int, date], Decimal]:
    """Submitted and approved hours per consultant and day, on every project: one query."""
    return {
        (r["consultant_id"], r["date"]): r["hours"]
        for r in TimeEntry.objects.filter(
            consultant_id__in=list(consultant_ids),
            date__gte=first,
            date__lte=last,
            status__in=[EntryStatus.SUBMITTED, EntryStatus.APPROVED],
        )
        .values("consultant_id", "date")
        .annotate(hours=Sum("hours"))
        .order_by()
    }


def week_anomalies(
    *, consultant_id: int, monday: date, capacity: Decimal, daily: Mapping[tuple[int, date], Decimal]
) -> tuple[Decimal, list[str]]:
    """A consultant's hours in the week of `monday` (from `daily`) and what deserves a second look: days above
    PSA_TIME_DAY_WARN_HOURS, the week above `capacity` (capacity less time off)."""
    day_limit = Decimal(settings.PSA_TIME_DAY_WARN_HOURS)
    days = [monday + timedelta(days=i) for i in range(7)]
    week_hours = sum((daily.get((consultant_id, d), Decimal(0)) for d in days), Decimal(0))
    found = [
        f"{daily[(consultant_id, d)]:.2f} h on {d:%a %-d %b} (above {day_limit:.0f} h a day)"
        for d in days
        if daily.get((consultant_id, d), Decimal(0)) > day_limit
    ]
    if week_hours > capacity:
        found.append(f"{week_hours:.2f} h this week against {capacity:.2f} h of capacity")
    return week_hours, found


def week_warnings(*, consultant_id: int, week: date) -> list[str]:
    """What submitting this week should warn about (the approval queue flags the same): three queries."""
    monday = week_start(week)
    consultant = Consultant.objects.only("pk", "weekly_capacity").get(pk=consultant_id)
    daily = _daily_totals([consultant_id], monday, monday + timedelta(days=6))
    off = time_off_hours(consultant_ids=[consultant_id], first=monday, last=monday + timedelta(days=6))
    capacity = max(consultant.weekly_capacity - off.get((consultant_id, monday), Decimal(0)), Decimal(0))
    return week_anomalies(consultant_id=consultant_id, monday=monday, capacity=capacity, daily=daily)[1]


def approval_groups(
    user: User, *, limit: int, project_id: int | None = None, consultant_id: int | None = None
) -> tuple[list[ApprovalGroup], bool]:
    """The approval queue grouped by consultant and week, oldest week first, optionally for one project or one
    consultant, with anomalies: a day above PSA_TIME_DAY_WARN_HOURS (all of the consultant's projects), a week
    above capacity less time off, a week far above the consultant's usual one (USUAL_FACTOR x the average of the
    USUAL_WEEKS weeks before, counting weeks with time), entries outside the project's dates, weekend work. Four
    queries whatever the size: the queue (at most `limit` entries; the flag says more wait), the consultants' daily
    totals from USUAL_WEEKS weeks before the oldest week to the newest, and their time off."""
    queue = approval_queue(user)
    if project_id is not None:
        queue = queue.filter(project_id=project_id)
    if consultant_id is not None:
        queue = queue.filter(consultant_id=consultant_id)
    entries = list(queue[: limit + 1])
    more = len(entries) > limit
    entries = entries[:limit]
    if not entries:
        return [], more
    consultant_ids = {e.consultant_id for e in entries}
    first, last = week_start(min(e.date for e in entries)), week_start(max(e.date for e in entries))
    last += timedelta(days=6)
    daily = _daily_totals(consultant_ids, first - timedelta(weeks=USUAL_WEEKS), last)
    off = time_off_hours(consultant_ids=list(consultant_ids), first=first, last=last)
    weekly: dict[tuple[int, date], Decimal] = defaultdict(Decimal)
    for (cid, day), hours in daily.items():
        weekly[(cid, week_start(day))] += hours
    groups: dict[tuple[int, date], ApprovalGroup] = {}
    for e in entries:
        key = (e.consultant_id, week_start(e.date))
        if key not in groups:
            groups[key] = ApprovalGroup(e.consultant, key[1], [], Decimal(0), Decimal(0), Decimal(0), [])
        groups[key].entries.append(e)
        groups[key].hours += e.hours
    for (cid, monday), group in groups.items():
        group.capacity = max(group.consultant.weekly_capacity - off.get((cid, monday), Decimal(0)), Decimal(0))
        group.week_hours, group.anomalies = week_anomalies(
            consultant_id=cid, monday=monday, capacity=group.capacity, daily=daily
        )
        day_limit = Decimal(settings.PSA_TIME_DAY_WARN_HOURS)
        group.long_days = frozenset(e.date for e in group.entries if daily.get((cid, e.date), Decimal(0)) > day_limit)
        before = [weekly[(cid, monday - timedelta(weeks=i))] for i in range(1, USUAL_WEEKS + 1)]
        worked = [h for h in before if h > 0]
        if worked:
            usual = sum(worked, Decimal(0)) / len(worked)
            if group.week_hours > usual * USUAL_FACTOR:
                group.anomalies.append(f"Far above the usual week ({group.week_hours:.2f} h against {usual:.2f} h)")
        outside = sorted(
            {
                f"{e.project.code} on {e.date:%a %-d %b}"
                for e in group.entries
                if (e.project.end_date and e.date > e.project.end_date)
                or (e.project.start_date and e.date < e.project.start_date)
            }
        )
        if outside:
            group.anomalies.append("Outside the project's dates: " + ", ".join(outside))
        weekend = sorted({e.date for e in group.entries if e.date.weekday() >= 5})
        if weekend:
            group.anomalies.append("Weekend work: " + ", ".join(f"{d:%a %-d %b}" for d in weekend))
    return sorted(groups.values(), key=lambda g: (g.week, g.consultant.pk)), more


def approver_projects(user: User) -> QuerySet[Project]:
    """The projects whose time waits for this approver (the approval queue's project filter): one query."""
    return Project.objects.filter(pk__in=approval_queue(user).values("project_id")).only("pk", "code", "name")


def approver_consultants(user: User) -> QuerySet[Consultant]:
    """The consultants whose time waits for this approver (the queue's person filter): one query."""
    return (
        Consultant.objects.filter(pk__in=approval_queue(user).values("consultant_id"))
        .select_related("user")
        .order_by("user__first_name", "user__last_name", "pk")
    )


def expense_queue(user: User) -> QuerySet[Expense]:
    qs = Expense.objects.filter(status=EntryStatus.SUBMITTED)
    if not has_role(user, Role.ADMIN):
        qs = qs.filter(project__project_manager=user)
    return qs.select_related("consultant__user", "project").order_by("date", "pk")


# --- capacity and missing time --------------------------------------------------------------------------
def expense_default_project(consultant: Consultant) -> int | None:
    """The project a new expense most likely belongs to: the one of the consultant's latest expense while still
    staffed on it, else of the allocation that started last. One query."""
    staffed = Allocation.objects.filter(consultant=consultant)
    latest_expense = (
        Expense.objects.filter(consultant=consultant, project_id=OuterRef("project_id"))
        .order_by("-date", "-pk")
        .values("date")[:1]
    )
    first = (
        staffed.annotate(spent=Subquery(latest_expense))
        .order_by(F("spent").desc(nulls_last=True), "-start_date", "-pk")
        .values_list("project_id", flat=True)
        .first()
    )
    return first


def time_off_hours(
    *, consultant_ids: Iterable[int] | QuerySet[Consultant, Any], first: date, last: date
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
                out[(cid, wk)] += per_day * weekdays_between(lo, hi)
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
