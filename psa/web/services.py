"""Writes of the composition layer: dismissing and snoozing exception-queue items (audited)."""

from datetime import date

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from psa.core.audit import audit_record
from psa.core.exceptions import NotFoundError, ValidationFailed
from psa.web.exception_queue import RULE_FUNCS, RULES
from psa.web.models import DismissalAction, ExceptionDismissal


@transaction.atomic
def exception_dismiss(
    *, by: User, rule: str, item_key: str, reason: str, until: date | None = None, as_of: date | None = None
) -> ExceptionDismissal:
    """Hide one queue item with a reason: dismissed (until its facts change) or, with `until`, snoozed through
    that day. The item must be in the queue now (its facts are what the dismissal remembers); a later decision
    on the same item replaces the earlier one. Audited."""
    as_of = as_of or timezone.localdate()
    reason = (reason or "").strip()
    errors: dict[str, list[str]] = {}
    if rule not in RULES:
        errors["rule"] = [f"Unknown rule '{rule}'."]
    if not reason:
        errors["reason"] = ["Say why (rule: reason_required)."]
    elif len(reason) > 300:
        errors["reason"] = ["At most 300 characters."]
    if until is not None and until <= as_of:
        errors["until"] = ["Snooze until a day after today (rule: snooze_in_future)."]
    if errors:
        raise ValidationFailed(
            "The item cannot be dismissed: " + "; ".join(e[0] for e in errors.values()), fields=errors
        )
    item = next((i for i in RULE_FUNCS[rule](as_of) if i.key == item_key), None)
    if item is None:
        raise NotFoundError("This item is no longer in the queue (its cause may be fixed already).")
    action = DismissalAction.SNOOZE if until else DismissalAction.DISMISS
    dismissal, _ = ExceptionDismissal.objects.update_or_create(
        rule=rule,
        item_key=item_key,
        defaults={
            "fingerprint": item.fingerprint,
            "action": action,
            "until": until,
            "reason": reason,
            "by": by if getattr(by, "is_authenticated", False) else None,
            "at": timezone.now(),
        },
    )
    audit_record(
        actor=by,
        action=f"web.exception_{action}",
        object_type="web.exception",
        object_id=f"{rule}|{item_key}"[:64],
        summary=f"{'Snoozed until ' + until.isoformat() if until else 'Dismissed'}: {item.title} — {reason}",
        data={"rule": rule, "key": item_key, "reason": reason, "until": until.isoformat() if until else None},
    )
    return dismissal


@transaction.atomic
def exception_restore(*, by: User, rule: str, item_key: str) -> None:
    """Bring a dismissed or snoozed item back into the queue. Audited."""
    deleted, _ = ExceptionDismissal.objects.filter(rule=rule, item_key=item_key).delete()
    if not deleted:
        raise NotFoundError("Nothing dismissed under this item.")
    audit_record(
        actor=by,
        action="web.exception_restore",
        object_type="web.exception",
        object_id=f"{rule}|{item_key}"[:64],
        summary=f"Restored {RULES.get(rule, rule)} item {item_key}",
    )
