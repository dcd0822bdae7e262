"""Staffing writes: consultants (role, capacity, skills, dated cost rates, time off) and allocations from
resource requests. Only PMs and admins staff; cost rates are set by finance or admins."""

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from crm.models import DeliveryRole
from projects.choices import AllocationKind, EntryStatus, ResourceRequestStatus
from projects.models import (
    Allocation,
    Consultant,
    ConsultantSkill,
    CostRate,
    Project,
    ResourceRequest,
    Skill,
    TimeEntry,
    TimeOff,
)
from projects.selectors import capacity_and_booked, request_remaining
from projects.services._common import clean_or_refuse
from projects.services.time import CLOSED_PROJECT_STATUSES, cost_rate_snapshot
from psa.core.audit import audit_record
from psa.core.dates import weekdays_between
from psa.core.exceptions import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailed
from psa.core.history import history_context
from psa.core.models import LegalEntity
from psa.core.money import HOURS_PLACES, DecimalInput, round_to, to_decimal
from psa.core.roles import Role as UserRole
from psa.core.roles import has_role

STAFF_ROLES = (UserRole.PROJECT_MANAGER, UserRole.ADMIN)
COST_EDIT_ROLES = (UserRole.FINANCE, UserRole.ADMIN)


def _ensure(by: User, roles: Iterable[str], what: str) -> None:
    if not has_role(by, *roles):
        raise PermissionDeniedError(f"Your role may not {what}.")


@transaction.atomic
def consultant_create(
    *,
    by: User,
    user: User,
    role: DeliveryRole,
    weekly_capacity: DecimalInput = Decimal("40"),
    utilization_target: int = 75,
    skills: dict[str, int] | None = None,
    cost_rate: DecimalInput | None = None,
    cost_from: date | None = None,
    entity: LegalEntity | None = None,
) -> Consultant:
    """A consultant employed by `entity` (else the default entity)."""
    _ensure(by, STAFF_ROLES, "create consultants")
    consultant = Consultant(
        user=user, role=role, weekly_capacity=to_decimal(weekly_capacity), utilization_target=utilization_target
    )
    if entity is not None:
        consultant.entity = entity
    clean_or_refuse(consultant)
    consultant.save()
    for name, level in (skills or {}).items():
        skill, _ = Skill.objects.get_or_create(name=name)
        link = ConsultantSkill(consultant=consultant, skill=skill, level=level)
        clean_or_refuse(link, exclude=["consultant"])
        link.save()
    if cost_rate is not None:
        CostRate.objects.create(
            consultant=consultant, rate=to_decimal(cost_rate), valid_from=cost_from or date(2020, 1, 1)
        )
    return consultant


@transaction.atomic
@history_context("cost-rate", key="consultant_id", by="by")
def cost_rate_set(*, by: User, consultant_id: int, rate: DecimalInput, valid_from: date) -> CostRate:
    """A new dated cost rate (applies from `valid_from` until the next one). One per consultant and day."""
    _ensure(by, COST_EDIT_ROLES, "set cost rates")
    rate = to_decimal(rate)
    if rate < 0:
        raise ValidationFailed("A cost rate cannot be negative (rule: rate_nonneg).", fields={"rate": ["Must be ≥ 0."]})
    try:
        with transaction.atomic():
            return CostRate.objects.create(consultant_id=consultant_id, rate=rate, valid_from=valid_from)
    except IntegrityError:
        raise ValidationFailed(
            "This consultant already has a cost rate from that day (rule: one_rate_per_day).",
            fields={"valid_from": ["Already set."]},
        ) from None


@transaction.atomic
@history_context("cost-rate-correct", key="consultant_id", by="by")
def time_cost_rate_correct(*, by: User, consultant_id: int, from_date: date) -> int:
    """Re-snapshot the cost rate of the consultant's approved entries dated on or after `from_date` by the
    approval's rule (projects.services.time.cost_rate_snapshot), after a cost rate was set or corrected; returns
    how many entries changed. Billing is untouched (it reads the bill rate); the next labour cost run posts the
    difference (ledger.services.cost_posting), into the first open month when the work month is closed."""
    _ensure(by, COST_EDIT_ROLES, "correct cost rates")
    if not Consultant.objects.filter(pk=consultant_id).exists():
        raise NotFoundError("No such consultant.", fields={"consultant": ["Not found."]})
    entries = TimeEntry.objects.select_for_update().filter(
        consultant_id=consultant_id, status=EntryStatus.APPROVED, date__gte=from_date
    )
    ids = list(entries.values_list("pk", flat=True))
    before = dict(TimeEntry.objects.filter(pk__in=ids).values_list("pk", "cost_rate"))
    # updated_at: billing's approved-time summary recomputes the months of entries changed since its last refresh
    TimeEntry.objects.filter(pk__in=ids).update(cost_rate=cost_rate_snapshot(), updated_at=timezone.now())
    after = dict(TimeEntry.objects.filter(pk__in=ids).values_list("pk", "cost_rate"))
    changed = sum(1 for pk in ids if before[pk] != after[pk])
    audit_record(
        actor=by,
        action="projects.cost_rate.correct",
        obj=None,
        summary=f"Re-snapshot the cost rate of {changed} approved entries of consultant {consultant_id} from "
        f"{from_date:%Y-%m-%d}",
    )
    return changed


@transaction.atomic
def time_off_add(
    *,
    by: User,
    consultant_id: int,
    start_date: date,
    end_date: date,
    kind: str = "leave",
    hours_per_day: DecimalInput = Decimal("8"),
    note: str = "",
) -> TimeOff:
    """Record holidays or leave: each weekday in the range takes `hours_per_day` off the consultant's capacity
    (expected hours, missing time, utilization). A consultant records their own; PMs and admins anyone's."""
    consultant = Consultant.objects.filter(pk=consultant_id).select_related("user").first()
    if consultant is None:
        raise NotFoundError("No such consultant.")
    if consultant.user_id != by.pk:
        _ensure(by, STAFF_ROLES, "record someone else's time off")
    off = TimeOff(
        consultant=consultant,
        start_date=start_date,
        end_date=end_date,
        kind=kind,
        hours_per_day=to_decimal(hours_per_day),
        note=note[:200],
    )
    if end_date < start_date:
        raise ValidationFailed(
            "The end is before the start (rule: dates_ordered).",
            fields={"end_date": ["The end is before the start."]},
        )
    clean_or_refuse(off)
    off.save()
    return off


@transaction.atomic
def time_off_remove(*, by: User, time_off_id: int) -> None:
    """Remove a consultant's time off (their own, or anyone's for PMs and admins)."""
    off = TimeOff.objects.select_for_update().filter(pk=time_off_id).select_related("consultant").first()
    if off is None:
        raise NotFoundError("No such time off.")
    if off.consultant.user_id != by.pk:
        _ensure(by, STAFF_ROLES, "remove someone else's time off")
    off.delete()


def _overbooking(
    consultant: Consultant, hours_per_week: Decimal, start: date, end: date, *, confirmed: bool,
    allocation_id: int | None = None,
) -> bool:  # fmt: skip
    """Whether booking `hours_per_week` over [start, end] goes beyond the consultant's free hours there;
    refused (rule: overbooking) unless confirmed. The consultant's row is locked by the caller."""
    capacity, booked = capacity_and_booked([consultant.pk], start=start, end=end, exclude_allocation_id=allocation_id)[
        consultant.pk
    ]
    wanted = round_to(hours_per_week * weekdays_between(start, end) / 5, HOURS_PLACES)
    free = capacity - booked
    if wanted <= free:
        return False
    if not confirmed:
        raise ConflictError(
            f"This would over-book {consultant}: {wanted} h wanted between {start} and {end} but only {free} h "
            f"free (capacity {capacity} h, booked {booked} h). Confirm the over-booking to allocate anyway "
            "(rule: overbooking).",
            fields={"confirm_overbooking": [f"{consultant} would be {wanted - free} h over capacity."]},
            code="overbooking",
        )
    return True


def _request_consume(request_id: int) -> None:
    """A resource request is filled once the allocations made from it cover its hours, open again when not."""
    remaining = request_remaining([request_id]).get(request_id)
    if remaining is None:
        return
    ResourceRequest.objects.filter(
        pk=request_id, status__in=[ResourceRequestStatus.OPEN, ResourceRequestStatus.FILLED]
    ).update(status=ResourceRequestStatus.FILLED if remaining <= 0 else ResourceRequestStatus.OPEN)


@transaction.atomic
def allocation_create(
    *,
    by: User,
    project_id: int,
    consultant_id: int,
    hours_per_week: DecimalInput,
    start_date: date,
    end_date: date,
    kind: str = AllocationKind.SOFT,
    resource_request_id: int | None = None,
    confirm_overbooking: bool = False,
) -> Allocation:
    """Book a consultant on a project. Refused outside the project's dates, on a closed project, for a
    request of another project, or with hours per week outside (0, 168]. Booking more than the consultant's
    free hours in the window (capacity less time off less hard and soft bookings) is refused with a
    ConflictError (rule: overbooking) unless `confirm_overbooking` — staffing is a judgement, so it can be
    confirmed, and the allocation records that it was an over-booking. An allocation made from a resource
    request consumes it: the request is filled once its hours are covered."""
    _ensure(by, STAFF_ROLES, "staff projects")
    project = Project.objects.select_for_update().filter(pk=project_id).first()
    if project is None:
        raise NotFoundError("No such project.")
    if project.status in CLOSED_PROJECT_STATUSES:
        raise ValidationFailed(
            f"{project.code} is {project.get_status_display().lower()} (rule: project_open).",
            fields={"project": ["Closed."]},
        )
    if end_date < start_date:
        raise ValidationFailed(
            "The end is before the start (rule: dates_ordered).", fields={"end_date": ["Before the start."]}
        )
    if (project.start_date and start_date < project.start_date) or (project.end_date and end_date > project.end_date):
        raise ValidationFailed(
            f"The allocation must lie within {project.code}'s dates ({project.start_date} to {project.end_date}) "
            "(rule: inside_project_dates).",
            fields={"start_date": ["Outside the project."]},
        )
    hours = to_decimal(hours_per_week)
    if not (Decimal("0") < hours <= Decimal("168")):
        raise ValidationFailed(
            "Hours per week must be more than 0 and at most 168 (rule: hours_per_week_range).",
            fields={"hours_per_week": ["Out of range."]},
        )
    if kind not in AllocationKind.values:
        raise ValidationFailed("Kind is soft or hard (rule: kind_valid).", fields={"kind": ["soft or hard."]})
    consultant = Consultant.objects.select_for_update().filter(pk=consultant_id, is_active=True).first()
    if consultant is None:
        raise ValidationFailed("No such active consultant.", fields={"consultant": ["Unknown."]})
    request = None
    if resource_request_id is not None:
        request = ResourceRequest.objects.filter(pk=resource_request_id, project=project).first()
        if request is None:
            raise ValidationFailed(
                "That resource request belongs to another project (rule: request_of_project).",
                fields={"resource_request": ["Not this project's."]},
            )
    overbooked = _overbooking(consultant, hours, start_date, end_date, confirmed=confirm_overbooking)
    allocation = Allocation.objects.create(
        project=project,
        consultant_id=consultant_id,
        resource_request=request,
        kind=kind,
        hours_per_week=hours,
        start_date=start_date,
        end_date=end_date,
        overbooked=overbooked,
        created_by=by,
    )
    if request is not None:
        _request_consume(request.pk)
    audit_record(actor=by, action="projects.allocation.create", obj=project, summary=f"Allocated {allocation}")
    return allocation


def _stranded_entries(allocation: Allocation, *, keep_from: date | None, keep_to: date | None) -> int:
    """Time the consultant logged on the project inside the allocation's dates but outside [keep_from, keep_to]
    that no other allocation covers: shortening or removing the allocation would leave it unallocated."""
    outside = Q(date__gte=allocation.start_date, date__lte=allocation.end_date)
    if keep_from is not None:
        outside &= Q(date__lt=keep_from) | Q(date__gt=keep_to)
    others = Allocation.objects.filter(
        consultant_id=allocation.consultant_id, project_id=allocation.project_id, start_date__lte=OuterRef("date"),
        end_date__gte=OuterRef("date"),
    ).exclude(pk=allocation.pk)  # fmt: skip
    return (
        TimeEntry.objects.filter(outside, consultant_id=allocation.consultant_id, project_id=allocation.project_id)
        .exclude(Exists(others))
        .count()
    )


def _allocation_for_change(by: User, allocation_id: int) -> Allocation:
    _ensure(by, STAFF_ROLES, "change allocations")
    allocation = (
        Allocation.objects.select_for_update().select_related("project", "consultant").filter(pk=allocation_id).first()
    )
    if allocation is None:
        raise NotFoundError("No such allocation.")
    return allocation


@transaction.atomic
def allocation_update(
    *, by: User, allocation_id: int, hours_per_week: DecimalInput, end_date: date, kind: str
) -> Allocation:
    """Change an allocation's hours per week, end date or kind (soft ↔ hard). The same rules as a new one
    (inside the project's dates, hours in (0, 168], end not before start); an end date that would leave time
    already logged on the project outside every allocation is refused (rule: covers_logged_time)."""
    allocation = _allocation_for_change(by, allocation_id)
    project = allocation.project
    hours = to_decimal(hours_per_week)
    if not (Decimal("0") < hours <= Decimal("168")):
        raise ValidationFailed(
            "Hours per week must be more than 0 and at most 168 (rule: hours_per_week_range).",
            fields={"hours_per_week": ["Out of range."]},
        )
    if end_date < allocation.start_date:
        raise ValidationFailed(
            "The end is before the start (rule: dates_ordered).", fields={"end_date": ["Before the start."]}
        )
    if project.end_date and end_date > project.end_date:
        raise ValidationFailed(
            f"The allocation must end by {project.code}'s end ({project.end_date}) (rule: inside_project_dates).",
            fields={"end_date": ["After the project's end."]},
        )
    if kind not in AllocationKind.values:
        raise ValidationFailed("Kind is soft or hard (rule: kind_valid).", fields={"kind": ["soft or hard."]})
    if end_date < allocation.end_date:
        stranded = _stranded_entries(allocation, keep_from=allocation.start_date, keep_to=end_date)
        if stranded:
            raise ValidationFailed(
                f"{allocation.consultant} has {stranded} time entries on {project.code} after {end_date} "
                "(rule: covers_logged_time).",
                fields={"end_date": ["Time is already logged after this day."]},
            )
    before = f"{allocation.hours_per_week} h/week to {allocation.end_date} ({allocation.kind})"
    allocation.hours_per_week, allocation.end_date, allocation.kind = hours, end_date, kind
    allocation.save(update_fields=["hours_per_week", "end_date", "kind"])
    if allocation.resource_request_id is not None:
        _request_consume(allocation.resource_request_id)
    audit_record(
        actor=by,
        action="projects.allocation.update",
        obj=project,
        summary=f"Changed {allocation.consultant}'s allocation from {before} to {hours} h/week to {end_date} ({kind})",
    )
    return allocation


@transaction.atomic
def allocation_remove(*, by: User, allocation_id: int) -> None:
    """Remove an allocation made by mistake; refused when time is logged under it (end it instead)."""
    allocation = _allocation_for_change(by, allocation_id)
    stranded = _stranded_entries(allocation, keep_from=None, keep_to=None)
    if stranded:
        raise ConflictError(
            f"{allocation.consultant} has {stranded} time entries under this allocation: change its end date "
            "instead (rule: covers_logged_time).",
            code="covers_logged_time",
        )
    audit_record(actor=by, action="projects.allocation.remove", obj=allocation.project, summary=f"Removed {allocation}")
    request_id = allocation.resource_request_id
    allocation.delete()
    if request_id is not None:
        _request_consume(request_id)
