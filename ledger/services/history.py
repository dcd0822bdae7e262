"""The ledger side of a go-live: months before the first one (created closed, by an administrator, audited) and
the balance history the previous system reported (HistoricalBalance, for comparison reports)."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from ledger.choices import PeriodStatus
from ledger.models import AccountBalance, AccountingPeriod, HistoricalBalance, JournalEntry, JournalLine, PeriodClose
from ledger.services.periods import _summaries_sync
from psa.core.audit import audit_record
from psa.core.dates import month_end, month_start, next_month
from psa.core.exceptions import ConflictError, PermissionDeniedError, ValidationFailed
from psa.core.models import LegalEntity
from psa.core.roles import Role, has_role

# Months one request may add before the first: ten years.
EARLIER_MONTHS_MAX = 120


@dataclass
class HistoryPeriods:
    created: list[AccountingPeriod]
    closes: list[PeriodClose]


def _months(first: date, last: date) -> list[date]:
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def _admin_with_reason(by: User, reason: str) -> str:
    """Months before the first are an administrator's, with a reason for the audit log: the reason, stripped."""
    if not has_role(by, Role.ADMIN):
        raise PermissionDeniedError(
            "Only an administrator can create periods before the first one.", fields={"start": ["Administrators."]}
        )
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Give a reason; it goes into the audit log.", fields={"reason": ["Required."]})
    return reason


@transaction.atomic
def periods_history_create(*, start: date, before: date, entity_id: int, by: User, reason: str) -> HistoryPeriods:
    """Create the months from `start` up to the first existing one (the calendar stays contiguous) and close every
    month before `before` (the cut-over) for the entity, from the calendar's first (its closed months stay a
    prefix). An administrator only; audited.

    The months before the cut-over must hold none of the entity's postings (its history arrives as the opening
    entry and the balance history, not as lines in closed months). A month created before one that other entities
    have closed is closed for them too, so each entity's closed months stay a prefix of the calendar."""
    reason = _admin_with_reason(by, reason)
    start, last = month_start(start), month_start(before) - timedelta(days=1)
    if start > last:
        raise ValidationFailed(
            f"The first month ({start:%Y-%m}) must be before the cut-over ({before:%Y-%m-%d}).",
            fields={"start": ["Before the cut-over."]},
        )
    entity = LegalEntity.objects.get(pk=entity_id)
    existing = list(AccountingPeriod.objects.select_for_update().order_by("start"))
    posted = JournalLine.objects.filter(entity_id=entity_id, date__lte=last).order_by("date").first()
    if posted is not None:
        raise ConflictError(
            f"{entity.code} has postings on {posted.date:%Y-%m-%d}, before the cut-over: history comes in as the "
            "opening entry, so the months before it must be empty.",
            fields={"start": [f"Postings on {posted.date:%Y-%m-%d}."]},
        )
    now = timezone.now()
    created, closes = _months_before_first(existing, start, last, by=by, now=now, skip_entity=entity_id)
    # every month before the cut-over, from the calendar's first: the entity's closed months are a prefix
    to_close = AccountingPeriod.objects.filter(end__lte=last).exclude(closes__entity_id=entity_id)
    closes += [PeriodClose(period=p, entity_id=entity_id, closed_at=now, closed_by=by) for p in to_close]
    closes = _closes_save(closes, by=by, now=now)
    audit_record(
        actor=by,
        action="ledger.periods_history_create",
        obj=entity,
        summary=f"Months {start:%Y-%m} to {last:%Y-%m} before the cut-over created closed for {entity.code}: {reason}",
        data={
            "created": [p.label for p in created],
            "closed": sorted({c.period_id for c in closes}),
            "entity": entity.code,
            "reason": reason[:250],
        },
    )
    return HistoryPeriods(created=created, closes=closes)


def _months_before_first(
    existing: list[AccountingPeriod],
    start: date,
    last: date,
    *,
    by: User,
    now: datetime,
    skip_entity: int | None = None,
) -> tuple[list[AccountingPeriod], list[PeriodClose]]:
    """Create the months from `start` up to the calendar's first (`existing`, locked, by start; through `last` when
    there is none yet), and the closes that keep each entity's closed months a prefix: every entity that closed the
    old first month has the new months closed too (but `skip_entity`, which the caller closes itself). The closes
    are returned unsaved."""
    first = existing[0].start if existing else None
    if first is not None and start >= first:
        return [], []
    wanted = _months(start, (first - timedelta(days=1)) if first else last)
    created = AccountingPeriod.objects.bulk_create(AccountingPeriod(start=m, end=month_end(m)) for m in wanted)
    prefix_entities = (
        set(PeriodClose.objects.filter(period=existing[0]).values_list("entity_id", flat=True)) if existing else set()
    )
    closes = [
        PeriodClose(period=period, entity_id=other, closed_at=now, closed_by=by)
        for period in created
        for other in sorted(prefix_entities - {skip_entity})
    ]
    return created, closes


def _closes_save(closes: list[PeriodClose], *, by: User, now: datetime) -> list[PeriodClose]:
    """Save the closes and bring their months' summary status along (closed where every entity has closed)."""
    closes = PeriodClose.objects.bulk_create(closes)
    AccountingPeriod.objects.filter(pk__in=_summaries_sync([c.period_id for c in closes])).update(
        status=PeriodStatus.CLOSED, closed_at=now, closed_by=by
    )
    return closes


@transaction.atomic
def periods_earlier_create(*, start: date, by: User, reason: str) -> HistoryPeriods:
    """Create the months from `start`'s up to the calendar's first one, outside a go-live: an administrator only,
    with a reason, audited. The calendar stays contiguous. Each entity's closed months stay a prefix: an entity that
    has closed the first month has the new months created closed too (nothing can be posted into them unless it
    reopens them, newest first, like any closed month); for the others the new months are open. An entity's go-live
    cut-over still refuses postings dated before it, whatever the month's state."""
    reason = _admin_with_reason(by, reason)
    existing = list(AccountingPeriod.objects.select_for_update().order_by("start"))
    if not existing:
        raise ValidationFailed(
            "There are no periods yet: create the coming months first.", fields={"start": ["No periods yet."]}
        )
    start, first = month_start(start), existing[0]
    if start >= first.start:
        raise ValidationFailed(
            f"The calendar already starts with {first.label}: choose a month before it.",
            fields={"start": [f"Before {first.label}."]},
        )
    if (first.start.year - start.year) * 12 + first.start.month - start.month > EARLIER_MONTHS_MAX:
        raise ValidationFailed(
            f"At most {EARLIER_MONTHS_MAX} months at a time.",
            fields={"start": [f"At most {EARLIER_MONTHS_MAX} months."]},
        )
    now = timezone.now()
    created, closes = _months_before_first(existing, start, first.start, by=by, now=now)
    closes = _closes_save(closes, by=by, now=now)
    closed_for = sorted({c.entity_id for c in closes})
    codes = dict(LegalEntity.objects.filter(pk__in=closed_for).values_list("pk", "code"))
    audit_record(
        actor=by,
        action="ledger.periods_earlier_create",
        obj=first,
        summary=f"Months {created[0].label} to {created[-1].label} created before {first.label}: {reason}",
        data={
            "created": [p.label for p in created],
            "closed_for": [codes[e] for e in closed_for],
            "reason": reason[:250],
        },
    )
    return HistoryPeriods(created=created, closes=closes)


def historical_balances_write(
    *, entity_id: int, rows: Iterable[tuple[int, int, Decimal, Decimal]], source: str
) -> list[HistoricalBalance]:
    """Store the previous system's monthly figures: (period id, account id, debit, credit) per row, one row per
    entity x month x account (a second import of the same month and account is refused by the unique index)."""
    return HistoricalBalance.objects.bulk_create(
        HistoricalBalance(entity_id=entity_id, period_id=p, account_id=a, debit=d, credit=c, source=source)
        for p, a, d, c in rows
    )


@transaction.atomic
def history_closes_remove(*, close_ids: list[int]) -> int:
    """Undo closes a go-live wrote (its rollback): the PeriodClose rows and their stored balances go, and the
    months' summary status follows. Refused when a later month of the entity is still closed (closed months stay
    a prefix)."""
    closes = list(PeriodClose.objects.select_for_update().filter(pk__in=close_ids).select_related("period"))
    for close in closes:
        later = (
            PeriodClose.objects.filter(entity_id=close.entity_id, period__start__gt=close.period.start)
            .exclude(pk__in=close_ids)
            .select_related("period")
            .first()
        )
        if later is not None:
            raise ConflictError(
                f"{later.period.label} is closed for entity {close.entity_id}: reopen the months after the cut-over "
                "before rolling the go-live back.",
                code="later_month_closed",
            )
    for close in closes:
        AccountBalance.objects.filter(period_id=close.period_id, entity_id=close.entity_id).delete()
    PeriodClose.objects.filter(pk__in=[c.pk for c in closes]).delete()
    _summaries_sync([c.period_id for c in closes])
    return len(closes)


@transaction.atomic
def history_periods_remove(*, period_ids: list[int]) -> int:
    """Remove months a go-live created (its rollback), provided nothing refers to them any more."""
    if (
        JournalEntry.objects.filter(period_id__in=period_ids).exists()  # a line's period is its entry's
        or PeriodClose.objects.filter(period_id__in=period_ids).exists()
    ):
        raise ConflictError("The months the go-live created hold postings or closes now and cannot be removed.")
    HistoricalBalance.objects.filter(period_id__in=period_ids).delete()
    return AccountingPeriod.objects.filter(pk__in=period_ids).delete()[0]
