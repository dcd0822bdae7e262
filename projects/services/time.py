"""Time capture: draft entries (one per consultant, project, task and day), the weekly submission, and the PM's
approval with the rate snapshot.

Rules (each refusal names it; a refused batch saves nothing):
- hours per entry in (0, 24]; a consultant's hours per day at most 24;
- time only on a project the consultant is allocated to on that day (soft or hard), inside the project's
  dates, never on a completed or cancelled project, on one of the project's own tasks;
- only draft or rejected entries change; submitted ones wait for the PM; approved ones are locked;
- a consultant writes only their own entries; only the project's PM (or an admin) approves or rejects.

Every write locks the consultant row first, so the per-day rule holds under concurrent saves, and approval
locks the entries in primary-key order and re-checks their status, so an edit racing an approval either
lands before it (and is approved as edited) or is refused after it.

Approval copies the rates in four set-based UPDATEs (no per-row loop): the contract line covering the day
(time-and-materials first), the rate-card line of the consultant's role on that day from the line's card (the
project currency's default card when the line has none), the bill rate (card line, else the contract line's
own rate, else 0), the cost rate (the consultant's latest cost rate on or before the day), and billable
(a time-and-materials line and a task that is not marked non-billable).
"""

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, DecimalField, Exists, IntegerField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from crm.choices import BillingModel
from projects.choices import EDITABLE_STATUSES, EntryStatus, ProjectStatus
from projects.models import (
    Allocation,
    Consultant,
    ContractLine,
    CostRate,
    Project,
    RateCard,
    RateCardLine,
    Task,
    TaskTerms,
    TimeEntry,
    Timesheet,
)
from projects.selectors import deal_correlation_id
from projects.sql import time_entries_copy
from psa.core.audit import audit_record
from psa.core.dates import week_start
from psa.core.exceptions import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailed
from psa.core.money import HOURS_PLACES, DecimalInput, round_to, to_decimal
from psa.core.roles import Role, has_role
from psa.core.webhooks import event_emit

CLOSED_PROJECT_STATUSES = (ProjectStatus.COMPLETED, ProjectStatus.CANCELLED)
MAX_HOURS_PER_DAY = Decimal("24")
APPROVE_ROLES = (Role.PROJECT_MANAGER, Role.ADMIN)


@dataclass(frozen=True)
class EntrySpec:
    """One entry to write, already parsed: what the grid, the API and the bulk import all hand in."""

    consultant_id: int
    project_id: int
    task_id: int | None
    date: date
    hours: Decimal
    note: str = ""
    source_key: str = ""


# --- who ------------------------------------------------------------------------------------------------
def consultant_of(user: User) -> Consultant:
    """The consultant record of a user, or a 403 naming the rule."""
    consultant = Consultant.objects.filter(user=user, is_active=True).select_related("role").first()
    if consultant is None:
        raise PermissionDeniedError("Only consultants log time: your login has no active consultant record.")
    return consultant


def _may_write_for(by: User, consultant_id: int) -> None:
    """A consultant writes only their own time; PMs and admins may write for anyone (imports, corrections)."""
    if has_role(by, Role.PROJECT_MANAGER, Role.ADMIN):
        return
    own = Consultant.objects.filter(user=by).values_list("pk", flat=True).first()
    if own != consultant_id:
        raise NotFoundError("No such time entry in your scope.")


def _lock_consultants(ids: Iterable[int]) -> None:
    """Serialize a consultant's time writes (the 24 h per day rule reads then writes). FOR NO KEY UPDATE:
    it excludes the other writers but not the foreign-key checks (FOR KEY SHARE) that an approval's
    successive UPDATEs of the same entries take on the consultant row — a plain FOR UPDATE deadlocks there."""
    ids = sorted(set(ids))
    list(Consultant.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk").values_list("pk"))


# --- validation (set-based: a fixed number of queries for any number of entries) -------------------------
def _refuse(rule: str, field: str, message: str, index: int | None = None) -> None:
    where = f"entries[{index}].{field}" if index is not None else field
    raise ValidationFailed(f"{message} (rule: {rule})", fields={where: [message]}, code=rule)


def _problems(
    specs: list[EntrySpec], *, replacing: dict[tuple, int] | None = None
) -> Iterator[tuple[int, str, str, str]]:
    """Every broken rule in a batch as (index, rule, field, message), at most one per entry, with a fixed
    number of queries whatever the batch size. An entry that breaks a rule does not count towards its day."""
    if not specs:
        return
    bad: set[int] = set()
    for i, s in enumerate(specs):
        if s.hours <= 0:
            problem = ("hours_positive", "hours", "Hours must be more than 0.")
        elif s.hours > MAX_HOURS_PER_DAY:
            problem = ("hours_max_per_entry", "hours", "An entry cannot exceed 24 hours.")
        elif round_to(s.hours, HOURS_PLACES) != s.hours:
            problem = ("hours_precision", "hours", "Hours take at most two decimals.")
        else:
            continue
        bad.add(i)
        yield (i, *problem)
    project_ids = {s.project_id for s in specs}
    consultant_ids = {s.consultant_id for s in specs}
    first, last = min(s.date for s in specs), max(s.date for s in specs)
    projects = {
        p.pk: p
        for p in Project.objects.filter(pk__in=project_ids)
        .select_related("entity")
        .only("code", "status", "start_date", "end_date", "entity__code", "entity__books_start")
    }
    task_ids = {s.task_id for s in specs if s.task_id}
    tasks = dict(Task.objects.filter(pk__in=task_ids).values_list("pk", "project_id")) if task_ids else {}
    allocs: dict[tuple[int, int], list[tuple[date, date]]] = defaultdict(list)
    for c, p, a, b in Allocation.objects.filter(
        consultant_id__in=consultant_ids, project_id__in=project_ids, start_date__lte=last, end_date__gte=first
    ).values_list("consultant_id", "project_id", "start_date", "end_date"):
        allocs[(c, p)].append((a, b))
    for i, s in enumerate(specs):
        if i in bad:
            continue
        project = projects.get(s.project_id)
        if project is None:
            problem = ("project_exists", "project", "No such project.")
        elif project.status in CLOSED_PROJECT_STATUSES:
            problem = (
                "project_open",
                "project",
                f"{project.code} is {project.get_status_display().lower()}: no more time.",
            )
        elif (project.start_date and s.date < project.start_date) or (project.end_date and s.date > project.end_date):
            problem = (
                "inside_project_dates",
                "date",
                f"{s.date.isoformat()} is outside {project.code}'s dates "
                f"({project.start_date or '…'} to {project.end_date or '…'}).",
            )
        elif project.entity.books_start and s.date < project.entity.books_start:
            problem = (
                "before_cutover",
                "date",
                f"{s.date.isoformat()} is before the go-live cut-over of {project.entity.code} "
                f"({project.entity.books_start.isoformat()}): everything before it was imported.",
            )
        elif s.task_id and tasks.get(s.task_id) != s.project_id:
            problem = ("task_of_project", "task", f"That task is not part of {project.code}.")
        elif not any(a <= s.date <= b for a, b in allocs.get((s.consultant_id, s.project_id), ())):
            problem = (
                "allocated",
                "project",
                f"Not allocated to {project.code} on {s.date.isoformat()}: ask the PM to staff you first.",
            )
        else:
            continue
        bad.add(i)
        yield (i, *problem)
    # Hours per day: what is already stored (minus the entries being rewritten) plus the batch.
    day_totals: dict[tuple[int, date], Decimal] = defaultdict(Decimal)
    replaced = set((replacing or {}).values())
    stored = (
        TimeEntry.objects.filter(consultant_id__in=consultant_ids, date__gte=first, date__lte=last)
        .exclude(pk__in=replaced)
        .values_list("consultant_id", "date")
        .annotate(h=Sum("hours"))
        .order_by()
    )
    for c, d, h in stored:
        day_totals[(c, d)] += h
    seen: set[tuple] = set()
    for i, s in enumerate(specs):
        if i in bad:
            continue
        key = (s.consultant_id, s.project_id, s.task_id, s.date)
        if key in seen:
            yield (i, "one_entry_per_cell", "date", "Two entries for the same project, task and day.")
            continue
        total = day_totals[(s.consultant_id, s.date)] + s.hours
        if total > MAX_HOURS_PER_DAY:
            yield (i, "hours_max_per_day", "hours", f"More than 24 hours on {s.date.isoformat()} ({total} h).")
            continue
        seen.add(key)
        day_totals[(s.consultant_id, s.date)] = total


def validate_specs(specs: list[EntrySpec], *, replacing: dict[tuple, int] | None = None, bulk: bool = False) -> None:
    """Check a batch against every rule; raise on the first broken one, naming it (and, for a batch, the
    entry's index). `replacing` maps a cell key to the id of the entry being rewritten, so its old hours do
    not count twice against the day."""
    for i, rule, field, message in _problems(specs, replacing=replacing):
        _refuse(rule, field, message, i if bulk else None)


def valid_specs(specs: list[EntrySpec]) -> list[EntrySpec]:
    """The entries of a batch that break no rule (same fixed number of queries)."""
    bad = {i for i, *_ in _problems(specs)}
    return [s for i, s in enumerate(specs) if i not in bad]


# --- writes by the consultant ---------------------------------------------------------------------------
@transaction.atomic
def time_entry_put(
    *,
    by: User,
    consultant_id: int,
    project_id: int,
    task_id: int | None,
    day: date,
    hours: DecimalInput,
    note: str | None = None,
) -> TimeEntry | None:
    """Set one grid cell: create, change or (hours empty or 0, no note) delete the draft. Submitted and
    approved cells are refused (409)."""
    _may_write_for(by, consultant_id)
    _lock_consultants([consultant_id])
    hours = to_decimal(hours or "0")
    existing = (
        TimeEntry.objects.select_for_update()  # type: ignore[misc]  # task_id=None is IS NULL
        .filter(consultant_id=consultant_id, project_id=project_id, task_id=task_id, date=day)
        .first()
    )
    if existing is not None and existing.status not in EDITABLE_STATUSES:
        raise ConflictError(
            f"This entry is {existing.get_status_display().lower()} and can no longer change "
            "(rule: locked_after_submit).",
            fields={"hours": ["Submitted and approved entries are locked."]},
            code="locked_after_submit",
        )
    if hours == 0:
        if existing is not None:
            existing.delete()
        return None
    spec = EntrySpec(consultant_id, project_id, task_id, day, hours, note if note is not None else "")
    replacing = {(consultant_id, project_id, task_id, day): existing.pk} if existing else None
    validate_specs([spec], replacing=replacing)
    now = timezone.now()
    if existing is None:
        entry = TimeEntry(
            consultant_id=consultant_id,
            project_id=project_id,
            task_id=task_id,
            date=day,
            hours=hours,
            note=spec.note[:500],
            created_at=now,
            updated_at=now,
        )
        entry.save()
        return entry
    existing.hours = hours
    if note is not None:
        existing.note = note[:500]
    existing.status = EntryStatus.DRAFT
    existing.updated_at = now
    existing.save(update_fields=["hours", "note", "status", "updated_at"])
    return existing


@transaction.atomic
def time_entry_update(
    *, by: User, entry_id: int, hours: DecimalInput | None = None, note: str | None = None
) -> TimeEntry:
    """Change a draft or rejected entry (a rejected one goes back to draft, its reason kept until resubmit)."""
    entry = TimeEntry.objects.filter(pk=entry_id).values("consultant_id").first()
    if entry is None:
        raise NotFoundError("No such time entry.")
    _may_write_for(by, entry["consultant_id"])
    _lock_consultants([entry["consultant_id"]])
    current = TimeEntry.objects.select_for_update().get(pk=entry_id)
    if current.status not in EDITABLE_STATUSES:
        raise ConflictError(
            f"This entry is {current.get_status_display().lower()} and can no longer change "
            "(rule: locked_after_submit).",
            fields={"status": ["Submitted and approved entries are locked."]},
            code="locked_after_submit",
        )
    new_hours = current.hours if hours is None else to_decimal(hours)
    spec = EntrySpec(current.consultant_id, current.project_id, current.task_id, current.date, new_hours)
    validate_specs([spec], replacing={(0,): current.pk})
    current.hours = new_hours
    if note is not None:
        current.note = note[:500]
    current.status = EntryStatus.DRAFT
    current.updated_at = timezone.now()
    current.save(update_fields=["hours", "note", "status", "updated_at"])
    return current


@transaction.atomic
def time_entry_delete(*, by: User, entry_id: int) -> None:
    entry = TimeEntry.objects.filter(pk=entry_id).values("consultant_id").first()
    if entry is None:
        raise NotFoundError("No such time entry.")
    _may_write_for(by, entry["consultant_id"])
    _lock_consultants([entry["consultant_id"]])
    deleted, _ = TimeEntry.objects.filter(pk=entry_id, status__in=EDITABLE_STATUSES).delete()
    if not deleted:
        raise ConflictError(
            "Submitted and approved entries cannot be deleted (rule: locked_after_submit).", code="locked_after_submit"
        )


COPY_THRESHOLD = 2000  # from this many rows an import streams them with COPY (PostgreSQL)


@transaction.atomic
def time_entries_bulk_create(*, by: User, specs: list[EntrySpec], batch_size: int = 5000) -> int:
    """Create many draft entries at once (integrations, CSV): every rule checked for the whole batch with a
    fixed number of queries, then `bulk_create` (COPY on PostgreSQL from COPY_THRESHOLD rows). All or nothing:
    one bad entry refuses the batch, naming its index and rule."""
    for cid in {s.consultant_id for s in specs}:
        _may_write_for(by, cid)
    _lock_consultants([s.consultant_id for s in specs])
    validate_specs(specs, bulk=True)
    now = timezone.now()
    rows = [
        TimeEntry(
            consultant_id=s.consultant_id,
            project_id=s.project_id,
            task_id=s.task_id,
            date=s.date,
            hours=s.hours,
            note=s.note[:500],
            source_key=s.source_key[:100],
            created_at=now,
            updated_at=now,
        )
        for s in specs
    ]
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql" and len(rows) >= COPY_THRESHOLD:
                time_entries_copy(rows)
            else:
                TimeEntry.objects.bulk_create(rows, batch_size=batch_size)
    except IntegrityError:
        raise ValidationFailed(
            "An entry for the same consultant, project, task and day already exists (rule: one_entry_per_cell).",
            fields={"entries": ["One entry per consultant, project, task and day."]},
            code="one_entry_per_cell",
        ) from None
    return len(rows)


@transaction.atomic
def timesheet_submit(*, by: User, consultant_id: int, week: date) -> int:
    """Submit a consultant's week: every draft or rejected entry of the week goes to its PM (one UPDATE)."""
    _may_write_for(by, consultant_id)
    _lock_consultants([consultant_id])
    monday = week_start(week)
    now = timezone.now()
    n = TimeEntry.objects.filter(
        consultant_id=consultant_id,
        date__gte=monday,
        date__lte=monday + timedelta(days=6),
        status__in=EDITABLE_STATUSES,
    ).update(status=EntryStatus.SUBMITTED, submitted_at=now, rejection_reason="", updated_at=now)
    if n == 0:
        raise ValidationFailed(
            "Nothing to submit: the week has no draft entries (rule: week_has_drafts).",
            fields={"week": ["No draft entries this week."]},
            code="week_has_drafts",
        )
    Timesheet.objects.update_or_create(consultant_id=consultant_id, week_start=monday, defaults={"submitted_at": now})
    audit_record(
        actor=by,
        action="projects.timesheet.submit",
        obj=Consultant(pk=consultant_id),
        summary=f"Submitted {n} entries for the week of {monday.isoformat()}",
    )
    return n


@dataclass(frozen=True)
class CopyResult:
    """What "Copy last week" did: cells filled, cells skipped because their day already had hours typed,
    and last week's rows (project, task) to show in the grid even where nothing was filled."""

    filled: int
    skipped: int
    rows: list[tuple[int, int | None]]


@transaction.atomic
def timesheet_copy_last_week(*, by: User, consultant_id: int, week: date) -> CopyResult:
    """Copy last week's rows (project, task, hours per weekday, no notes) into this week, filling only days
    with no hours typed yet: a day the consultant already typed on is skipped whole, so copying never adds
    hours onto typed ones (no doubled days). Cells the rules refuse (not allocated any more, outside the
    project, closed project) are skipped, not half-written; the rest are created in one `bulk_create`."""
    _may_write_for(by, consultant_id)
    monday = week_start(week)
    prev = list(
        TimeEntry.objects.filter(consultant_id=consultant_id, date__gte=monday - timedelta(days=7), date__lt=monday)
        .order_by("project_id", "task_id", "date")
        .values_list("project_id", "task_id", "date", "hours")
    )
    this_week = list(
        TimeEntry.objects.filter(
            consultant_id=consultant_id, date__gte=monday, date__lt=monday + timedelta(days=7)
        ).values_list("project_id", "task_id", "date", "hours")
    )
    typed_days = {day for _p, _t, day, hours in this_week if hours > 0}
    taken = {(project_id, task_id, day) for project_id, task_id, day, _h in this_week}
    rows: list[tuple[int, int | None]] = list(dict.fromkeys((pid, tid) for pid, tid, _day, _hours in prev))
    candidates = [
        EntrySpec(consultant_id, project_id, task_id, day + timedelta(days=7), hours)
        for project_id, task_id, day, hours in prev
        if day + timedelta(days=7) not in typed_days and (project_id, task_id, day + timedelta(days=7)) not in taken
    ]
    skipped = len(prev) - len(candidates)
    keep = valid_specs(candidates)  # one pass, fixed queries: no per-entry validation round trips
    filled = time_entries_bulk_create(by=by, specs=keep) if keep else 0
    return CopyResult(filled=filled, skipped=skipped, rows=rows)


# --- decisions by the PM --------------------------------------------------------------------------------
def _lock_submitted(*, by: User, entry_ids: list[int]) -> list[int]:
    ids = sorted({int(i) for i in entry_ids})
    if not ids:
        raise ValidationFailed("Pick at least one entry (rule: selection_required).", code="selection_required")
    rows = list(
        TimeEntry.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .order_by("pk")
        .values_list("pk", "status", "project__project_manager_id")
    )
    if len(rows) != len(ids):
        raise NotFoundError("Some of these entries do not exist.")
    if not has_role(by, Role.ADMIN) and (
        not has_role(by, Role.PROJECT_MANAGER) or any(pm != by.pk for _, _, pm in rows)
    ):
        raise PermissionDeniedError("Only the project's manager approves or rejects its time (rule: project_manager).")
    wrong = [pk for pk, st, _ in rows if st != EntryStatus.SUBMITTED]
    if wrong:
        raise ConflictError(
            f"{len(wrong)} of these entries are not waiting for approval (rule: only_submitted).",
            fields={"entries": [f"Entry {pk} is not submitted." for pk in wrong[:10]]},
            code="only_submitted",
        )
    return ids


def cost_rate_snapshot() -> Coalesce:
    """The cost rate an entry takes at approval (and at a cost rate correction): the consultant's dated cost rate
    on the work date; for a subcontractor without one, the vendor's hourly rate (in the vendor's currency, which is
    then the cost currency: ledger.selectors.project_cost); else 0."""
    return Coalesce(
        Subquery(
            CostRate.objects.filter(consultant_id=OuterRef("consultant_id"), valid_from__lte=OuterRef("date"))
            .order_by("-valid_from")
            .values("rate")[:1]
        ),
        Subquery(
            Consultant.objects.filter(pk=OuterRef("consultant_id"), vendor__isnull=False).values("vendor__hourly_rate")[
                :1
            ]
        ),
        Value(Decimal("0")),
        output_field=DecimalField(max_digits=18, decimal_places=4),
    )


@transaction.atomic
def time_entries_approve(*, by: User, entry_ids: list[int]) -> int:
    """Approve submitted entries of the PM's projects and copy the rates onto them (see module docstring).
    All or nothing: one entry that is not submitted or not the PM's refuses the batch. Emits one
    `time.approved` event per batch, keyed by the approved ids."""
    ids = _lock_submitted(by=by, entry_ids=entry_ids)
    qs = TimeEntry.objects.filter(pk__in=ids)
    tm_first = Case(
        When(billing_model=BillingModel.TIME_AND_MATERIALS, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    qs.update(
        contract_line_id=Subquery(
            ContractLine.objects.filter(
                contract__project_id=OuterRef("project_id"),
                start_date__lte=OuterRef("date"),
                end_date__gte=OuterRef("date"),
            )
            .annotate(tm_first=tm_first)
            .order_by("tm_first", "position", "id")
            .values("pk")[:1]
        )
    )
    card_line = RateCardLine.objects.filter(
        role_id=Subquery(Consultant.objects.filter(pk=OuterRef(OuterRef("consultant_id"))).values("role_id")[:1]),
        valid_from__lte=OuterRef("date"),
    ).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=OuterRef("date")))
    # The card: the contract line's own, else the default card of the project's currency.
    card_id = Coalesce(
        Subquery(ContractLine.objects.filter(pk=OuterRef(OuterRef("contract_line_id"))).values("rate_card_id")[:1]),
        Subquery(
            RateCard.objects.filter(
                is_default=True,
                currency=Subquery(
                    Project.objects.filter(pk=OuterRef(OuterRef(OuterRef("project_id")))).values("currency")[:1]
                ),
            )
            .order_by("pk")
            .values("pk")[:1]
        ),
    )
    qs.update(
        rate_card_line_id=Subquery(card_line.filter(rate_card_id=card_id).order_by("-valid_from").values("pk")[:1])
    )
    now = timezone.now()
    money = DecimalField(max_digits=18, decimal_places=4)
    qs.update(
        bill_rate=Coalesce(
            Subquery(RateCardLine.objects.filter(pk=OuterRef("rate_card_line_id")).values("rate")[:1]),
            Subquery(ContractLine.objects.filter(pk=OuterRef("contract_line_id")).values("rate")[:1]),
            Value(Decimal("0")),
            output_field=money,
        ),
        cost_rate=cost_rate_snapshot(),
        billable=Exists(
            ContractLine.objects.filter(pk=OuterRef("contract_line_id"), billing_model=BillingModel.TIME_AND_MATERIALS)
        )
        & ~Exists(TaskTerms.objects.filter(task_id=OuterRef("task_id"), billable=False)),
        status=EntryStatus.APPROVED,
        approved_at=now,
        decided_by=by,
        rejection_reason="",
        updated_at=now,
    )
    totals = qs.aggregate(hours=Sum("hours"))
    digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:32]
    event_emit(
        type="time.approved",
        key=f"time.approved:{digest}",
        data={"entry_ids": ids, "count": len(ids), "hours": str(totals["hours"] or 0), "approved_by": by.pk},
        correlation_id=deal_correlation_id(project_ids=qs.values_list("project_id", flat=True).distinct()),
    )
    audit_record(actor=by, action="projects.time.approve", obj=None, summary=f"Approved {len(ids)} time entries")
    return len(ids)


@transaction.atomic
def time_entries_reject(*, by: User, entry_ids: list[int], reason: str) -> int:
    """Send submitted entries back to the consultant with a reason (required); they become editable again."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            "Say why the time is rejected (rule: reason_required).",
            fields={"reason": ["A reason is required."]},
            code="reason_required",
        )
    ids = _lock_submitted(by=by, entry_ids=entry_ids)
    now = timezone.now()
    TimeEntry.objects.filter(pk__in=ids).update(
        status=EntryStatus.REJECTED, rejection_reason=reason[:500], decided_by=by, updated_at=now
    )
    audit_record(actor=by, action="projects.time.reject", obj=None, summary=f"Rejected {len(ids)} entries: {reason}")
    return len(ids)


def week_days(monday: date) -> list[date]:
    return [monday + timedelta(days=i) for i in range(7)]


__all__ = [
    "CopyResult",
    "EntrySpec",
    "consultant_of",
    "cost_rate_snapshot",
    "time_entries_approve",
    "time_entries_bulk_create",
    "time_entries_reject",
    "time_entry_delete",
    "time_entry_put",
    "time_entry_update",
    "timesheet_copy_last_week",
    "timesheet_submit",
    "validate_specs",
]
