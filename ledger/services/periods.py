"""Accounting periods: created ahead, closed in order and reopened in reverse order, both with a reason.

Closing a month writes its stored balances (AccountBalance, one row per account x client x project: the month's
movement and the cumulative totals, from the previous closed month's rows plus this month's lines, in one
set-based INSERT). Reopening removes them. Because closed months form a prefix of the calendar, a report reads
one closed month's cumulative rows and only the lines of the open months after it.
"""

from datetime import date

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from ledger import sql
from ledger.choices import PERIOD_TRANSITIONS, PeriodStatus
from ledger.models import AccountBalance, AccountingPeriod, JournalLine
from ledger.selectors.close import ChecklistRow, close_blockers
from psa.core.audit import audit_record
from psa.core.dates import month_end, month_start, next_month
from psa.core.exceptions import (
    ConflictError,
    InvalidTransition,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailed,
    ensure_transition,
)
from psa.core.roles import Role, has_role
from psa.core.webhooks import event_emit


@transaction.atomic
def periods_ensure(*, through: date, start: date | None = None) -> list[AccountingPeriod]:
    """Create the missing monthly periods up to the month of `through` (from `start`, or after the last one).

    Periods stay contiguous; a month before a closed period cannot be added (closed months form a prefix)."""
    # Serialise concurrent callers (the beat job and a person) on the first period row, if any.
    existing = list(AccountingPeriod.objects.select_for_update().order_by("start").values_list("start", "status"))
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
    have = {s for s, _ in existing}
    created = []
    month = low
    while month <= high:
        if month not in have:
            created.append(AccountingPeriod(start=month, end=month_end(month)))
        month = next_month(month)
    AccountingPeriod.objects.bulk_create(created)
    return created


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


def balances_write(period: AccountingPeriod) -> int:
    """Write the stored balances of a period being closed (after any earlier one's). Returns the row count."""
    previous = AccountingPeriod.objects.filter(start__lt=period.start).order_by("-start").values("pk").first()
    AccountBalance.objects.filter(period=period).delete()
    return sql.balances_insert(period_id=period.pk, previous_id=previous["pk"] if previous else None)


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


@transaction.atomic
def period_close(*, period_id: int, by: User, reason: str, override_reason: str = "") -> AccountingPeriod:
    """Close a month: earlier months must be closed already, and no blocking item of the month-end checklist
    may be outstanding unless an administrator overrides it with a reason (409 without one, 403 for anyone
    else). Postings dated in the month are refused from now on (the database refuses them too). Writes the
    month's stored balances and an audit event that records any override and the items it went past."""
    reason = _reason(reason)
    period = _locked(period_id)
    ensure_transition(period.status, PeriodStatus.CLOSED, PERIOD_TRANSITIONS)
    earlier_open = (
        AccountingPeriod.objects.filter(start__lt=period.start, status=PeriodStatus.OPEN).order_by("start").first()
    )
    if earlier_open is not None:
        raise InvalidTransition(
            f"Close {earlier_open.label} first: months close in order.",
            fields={"period": [f"{earlier_open.label} is still open."]},
        )
    override = _checklist_allows(period, by=by, override_reason=override_reason)
    rows = balances_write(period)
    period.status = PeriodStatus.CLOSED
    period.closed_at = timezone.now()
    period.closed_by = by if getattr(by, "is_authenticated", False) else None
    period.save(update_fields=["status", "closed_at", "closed_by"])
    lines = JournalLine.objects.filter(period=period).count()
    # A month spans many deals, so the event carries no correlation id; a reopen and re-close emits again.
    event_emit(
        type="period.closed",
        key=f"period.closed:{period.pk}:{period.closed_at.isoformat()}",
        data={"id": period.pk, "start": period.start.isoformat(), "end": period.end.isoformat(), "reason": reason},
    )
    summary = f"Closed {period.label}: {reason}"
    data = {"reason": reason, "lines": lines, "balance_rows": rows}
    if override is not None:
        passed = ", ".join(item["label"].lower() for item in override["items"])
        summary += f" (over the checklist: {passed} outstanding; override: {override['reason']})"
        data["override"] = override
    audit_record(actor=by, action="ledger.period_close", obj=period, summary=summary[:300], data=data)
    return period


@transaction.atomic
def period_reopen(*, period_id: int, by: User, reason: str) -> AccountingPeriod:
    """Reopen the latest closed month (later months must be open): removes its stored balances; audited."""
    reason = _reason(reason)
    period = _locked(period_id)
    ensure_transition(period.status, PeriodStatus.OPEN, PERIOD_TRANSITIONS)
    later_closed = (
        AccountingPeriod.objects.filter(start__gt=period.start, status=PeriodStatus.CLOSED).order_by("-start").first()
    )
    if later_closed is not None:
        raise InvalidTransition(
            f"Reopen {later_closed.label} first: months reopen in reverse order.",
            fields={"period": [f"{later_closed.label} is closed."]},
        )
    AccountBalance.objects.filter(period=period).delete()
    period.status = PeriodStatus.OPEN
    period.closed_at = None
    period.closed_by = None
    period.save(update_fields=["status", "closed_at", "closed_by"])
    audit_record(
        actor=by,
        action="ledger.period_reopen",
        obj=period,
        summary=f"Reopened {period.label}: {reason}",
        data={"reason": reason},
    )
    return period
