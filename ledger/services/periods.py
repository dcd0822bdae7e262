"""Accounting periods: created ahead, closed in order and reopened in reverse order, both with a reason, per
legal entity.

The months are one calendar shared by every entity (AccountingPeriod); each entity closes its own books
(PeriodClose, one row per month x entity), so closing the GmbH's March leaves the Ltd's March open. This is the
simplest sound shape: the recognition and revaluation runs, the schedules and the checklist keep naming one
calendar month, and only the question "may entity E post into month M" became per entity. It is answered by
the posting service and by the database trigger (migration 0014) from the same PeriodClose rows.

Closing a month for an entity writes that entity's stored balances (AccountBalance, one row per entity x
account x client x project: the month's movement and the cumulative totals, from the entity's previous month's
rows plus its lines of this month, in one set-based INSERT). Reopening removes them. Because an entity's closed
months form a prefix of the calendar, a report reads, per entity, one closed month's cumulative rows and only
the lines of the open months after it.

Locking: a close locks the month's row FOR UPDATE; every posting into the month holds it FOR SHARE or FOR NO KEY
UPDATE (ledger.sql.entry_insert, the trigger) until it commits, so the close waits for postings in flight and
includes them, and a posting waiting on the close sees its PeriodClose row. A close of one entity therefore
briefly holds up the other entities' postings into the same month, never refuses them.

`AccountingPeriod.status` summarises the month for lists: closed once every active entity has closed it.
"""

from datetime import date

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from ledger import sql
from ledger.choices import PERIOD_TRANSITIONS, PeriodStatus
from ledger.models import AccountBalance, AccountingPeriod, JournalLine, PeriodClose
from ledger.selectors.close import ChecklistRow, close_blockers
from psa.core.audit import audit_record
from psa.core.dates import month_end, month_start, next_month
from psa.core.entities import entity_default
from psa.core.exceptions import (
    ConflictError,
    InvalidTransition,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailed,
    ensure_transition,
)
from psa.core.models import LegalEntity
from psa.core.roles import Role, has_role
from psa.core.webhooks import event_emit


@transaction.atomic
def periods_ensure(*, through: date, start: date | None = None) -> list[AccountingPeriod]:
    """Create the missing monthly periods up to the month of `through` (from `start`, or after the last one).

    Periods stay contiguous; a month before a month some entity has closed cannot be added (closed months form a
    prefix). Also puts each month's summary status right (an entity added since may have it open)."""
    # Serialise concurrent callers (the beat job and a person) on the first period row, if any.
    existing = list(AccountingPeriod.objects.select_for_update().order_by("start").values_list("start", "status"))
    if existing and PeriodClose.objects.filter(period__start=existing[0][0]).exists():
        existing[0] = (existing[0][0], PeriodStatus.CLOSED)
    wanted = month_start(start) if start else None
    if existing:
        first, first_status = existing[0]
        last = existing[-1][0]
        low = min(first, wanted) if wanted else first
        if low < first and first_status == PeriodStatus.CLOSED:
            raise ValidationFailed(
                f"Cannot add months before {first:%Y-%m}: it is closed, and closed months must come first.",
                fields={"start": ["Before a closed period."]},
            )
        high = max(month_start(through), last)
    else:
        low = wanted or month_start(through)
        high = max(month_start(through), low)
    cutover = LegalEntity.objects.filter(books_start__isnull=False, books_start__gt=low).order_by("books_start").first()
    if cutover is not None and existing and low < existing[0][0]:
        raise ValidationFailed(
            f"Cannot add months before {cutover.code}'s go-live cut-over ({cutover.books_start:%Y-%m-%d}) here: "
            "months before a cut-over come from the go-live, created closed.",
            fields={"start": [f"On or after {cutover.books_start:%Y-%m}."]},
        )
    have = {s for s, _ in existing}
    created = []
    month = low
    while month <= high:
        if month not in have:
            created.append(AccountingPeriod(start=month, end=month_end(month)))
        month = next_month(month)
    AccountingPeriod.objects.bulk_create(created)
    _summaries_sync()
    return created


def _summaries_sync(period_ids: list[int] | None = None) -> list[int]:
    """Put the months' summary status right: closed is kept only where every active entity has closed the month.
    Returns the months (of `period_ids`, or all) that every active entity has closed."""
    active = list(LegalEntity.objects.filter(is_active=True).values_list("pk", flat=True))
    closes = PeriodClose.objects.filter(entity_id__in=active)
    periods = AccountingPeriod.objects.filter(status=PeriodStatus.CLOSED)
    if period_ids is not None:
        closes = closes.filter(period_id__in=period_ids)
        periods = periods.filter(pk__in=period_ids)
    full = [
        row["period_id"]
        for row in closes.values("period_id").annotate(n=Count("entity_id")).filter(n=len(active)).order_by()
    ]
    periods.exclude(pk__in=full).update(status=PeriodStatus.OPEN, closed_at=None, closed_by=None)
    return full


def _entity(entity_id: int | None) -> LegalEntity:
    if entity_id is None:
        return entity_default()
    entity = LegalEntity.objects.filter(pk=entity_id).first()
    if entity is None:
        raise NotFoundError(f"No legal entity with id {entity_id}.", fields={"entity": ["Unknown entity."]})
    return entity


def _locked(period_id: int) -> AccountingPeriod:
    period = AccountingPeriod.objects.select_for_update().filter(pk=period_id).first()
    if period is None:
        raise NotFoundError(f"No accounting period with id {period_id}.")
    return period


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Give a reason; it goes into the audit log.", fields={"reason": ["Required."]})
    return reason[:250]


def balances_write(period: AccountingPeriod, *, entity_id: int) -> int:
    """Write an entity's stored balances of a period it is closing (after its earlier months'). Returns the row
    count."""
    previous = AccountingPeriod.objects.filter(start__lt=period.start).order_by("-start").values("pk").first()
    AccountBalance.objects.filter(period=period, entity_id=entity_id).delete()
    return sql.balances_insert(
        period_id=period.pk, entity_id=entity_id, previous_id=previous["pk"] if previous else None
    )


def _checklist_allows(period: AccountingPeriod, *, by: User, override_reason: str) -> dict | None:
    """The month-end checklist's rule: a month does not close while a blocking item (ledger.selectors.close) is
    outstanding. An administrator may close over it with a reason; anyone else is refused, with the items named.
    Returns what the audit event records of an override (None when nothing blocks)."""
    blockers = close_blockers(period)
    if not blockers:
        return None
    items = "; ".join(_blocker_text(r) for r in blockers)
    fields = {"checklist": [_blocker_text(r) for r in blockers]}
    override_reason = (override_reason or "").strip()
    if not override_reason:
        raise ConflictError(
            f"{period.label} cannot close yet: {items}. Finish the checklist first"
            " (an administrator may close over it with an override reason).",
            fields=fields,
            code="close_checklist_blocking",
        )
    if not has_role(by, Role.ADMIN):
        raise PermissionDeniedError(
            f"Only an administrator may close {period.label} over the checklist: {items}.",
            fields={**fields, "override_reason": ["Administrators only."]},
        )
    return {
        "reason": override_reason[:250],
        "items": [{"key": r.key, "label": r.label, "detail": r.result.detail} for r in blockers],
    }


def _blocker_text(row: ChecklistRow) -> str:
    return f"{row.label} ({row.result.detail})" if row.result.detail else row.label


def _closed_for(period: AccountingPeriod, entity_id: int) -> bool:
    return PeriodClose.objects.filter(period=period, entity_id=entity_id).exists()


@transaction.atomic
def period_close(
    *, period_id: int, by: User, reason: str, override_reason: str = "", entity_id: int | None = None
) -> AccountingPeriod:
    """Close a month for one legal entity (default: the default entity): its earlier months must be closed
    already, and no blocking item of the month-end checklist may be outstanding unless an administrator overrides
    it with a reason (409 without one, 403 for anyone else). The entity's postings dated in the month are refused
    from now on (the database refuses them too); the other entities' books stay open. Writes the entity's stored
    balances and an audit event that records any override and the items it went past."""
    reason = _reason(reason)
    period = _locked(period_id)
    entity = _entity(entity_id)
    ensure_transition(
        PeriodStatus.CLOSED if _closed_for(period, entity.pk) else PeriodStatus.OPEN,
        PeriodStatus.CLOSED,
        PERIOD_TRANSITIONS,
    )
    earlier_open = (
        AccountingPeriod.objects.filter(start__lt=period.start)
        .exclude(closes__entity_id=entity.pk)
        .order_by("start")
        .first()
    )
    if earlier_open is not None:
        raise InvalidTransition(
            f"Close {earlier_open.label} first (for {entity.code}): months close in order.",
            fields={"period": [f"{earlier_open.label} is still open for {entity.code}."]},
        )
    override = _checklist_allows(period, by=by, override_reason=override_reason)
    rows = balances_write(period, entity_id=entity.pk)
    closer = by if getattr(by, "is_authenticated", False) else None
    close = PeriodClose.objects.create(period=period, entity=entity, closed_at=timezone.now(), closed_by=closer)
    if _summaries_sync([period.pk]):
        period.status = PeriodStatus.CLOSED
        period.closed_at = close.closed_at
        period.closed_by = closer
        period.save(update_fields=["status", "closed_at", "closed_by"])
    lines = JournalLine.objects.filter(period=period, entity_id=entity.pk).count()
    # A month spans many deals, so the event carries no correlation id; a reopen and re-close emits again.
    event_emit(
        type="period.closed",
        key=f"period.closed:{period.pk}:{entity.pk}:{close.closed_at.isoformat()}",
        data={
            "id": period.pk,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "entity": entity.code,
            "reason": reason,
        },
    )
    summary = f"Closed {period.label}: {reason} [books of {entity.code}]"
    data = {"reason": reason, "entity": entity.code, "lines": lines, "balance_rows": rows}
    if override is not None:
        passed = ", ".join(item["label"].lower() for item in override["items"])
        summary += f" (over the checklist: {passed} outstanding; override: {override['reason']})"
        data["override"] = override
    audit_record(actor=by, action="ledger.period_close", obj=period, summary=summary[:300], data=data)
    return period


@transaction.atomic
def period_reopen(*, period_id: int, by: User, reason: str, entity_id: int | None = None) -> AccountingPeriod:
    """Reopen an entity's latest closed month (default: the default entity; its later months must be open):
    removes its stored balances; audited. The other entities' closes stay."""
    reason = _reason(reason)
    period = _locked(period_id)
    entity = _entity(entity_id)
    ensure_transition(
        PeriodStatus.CLOSED if _closed_for(period, entity.pk) else PeriodStatus.OPEN,
        PeriodStatus.OPEN,
        PERIOD_TRANSITIONS,
    )
    if entity.books_start is not None and period.start < entity.books_start:
        raise InvalidTransition(
            f"{period.label} is before the go-live cut-over of {entity.code} ({entity.books_start:%Y-%m-%d}): its "
            "history was imported and reconciled, and stays closed.",
            fields={"period": [f"Before the cut-over, {entity.books_start:%Y-%m-%d}."]},
        )
    later_closed = (
        AccountingPeriod.objects.filter(start__gt=period.start, closes__entity_id=entity.pk).order_by("-start").first()
    )
    if later_closed is not None:
        raise InvalidTransition(
            f"Reopen {later_closed.label} first (for {entity.code}): months reopen in reverse order.",
            fields={"period": [f"{later_closed.label} is closed for {entity.code}."]},
        )
    AccountBalance.objects.filter(period=period, entity_id=entity.pk).delete()
    PeriodClose.objects.filter(period=period, entity_id=entity.pk).delete()
    period.status = PeriodStatus.OPEN
    period.closed_at = None
    period.closed_by = None
    period.save(update_fields=["status", "closed_at", "closed_by"])
    audit_record(
        actor=by,
        action="ledger.period_reopen",
        obj=period,
        summary=f"Reopened {period.label} for {entity.code}: {reason}",
        data={"reason": reason, "entity": entity.code},
    )
    return period
