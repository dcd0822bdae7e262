"""Credit holds: finance stops new business with an account that does not pay.

The flow, as Certinia's credit management does it: while an account is on hold a sales rep's "Won" is refused
with a sentence naming the hold; finance either releases the hold (the account is in good standing again) or
approves that one deal (an exception that counts for the current hold only: a later hold needs a new approval).
Billing keeps invoicing work already sold, and flags the invoices of held accounts in the run report.

A hold is placed by finance or by the daily rule (billing.services.credit: overdue beyond N days, or open
receivables above the account's credit limit); the rule lifts only the holds it placed, once the account no
longer meets it; a hold finance placed is lifted by finance. Each change is audited and emitted as the webhook
event `account.credit_hold`.
"""

from decimal import Decimal

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.choices import CreditHoldSource, OpportunityStatus
from crm.models import Account, CreditHold, Opportunity
from psa.core.audit import audit_record
from psa.core.exceptions import ConflictError, NotFoundError, PermissionDeniedError, ValidationFailed
from psa.core.money import DecimalInput, to_decimal
from psa.core.roles import Role, has_role
from psa.core.webhooks import event_emit

CREDIT_ROLES = (Role.FINANCE, Role.ADMIN)


def _require_finance(by: User | None) -> None:
    """Holds are finance's; the system (by=None) runs the rule."""
    if by is not None and not has_role(by, *CREDIT_ROLES):
        raise PermissionDeniedError("Only finance may put an account on credit hold or release it.")


def _locked_account(account_id: int) -> Account:
    account = Account.objects.select_for_update().filter(pk=account_id).first()
    if account is None:
        raise NotFoundError(f"No account with id {account_id}.")
    return account


def active_hold(account_id: int) -> CreditHold | None:
    return CreditHold.objects.filter(account_id=account_id, released_at__isnull=True).first()


def _emit(hold: CreditHold, *, on_hold: bool) -> None:
    event_emit(
        type="account.credit_hold",
        key=f"account.credit_hold:{hold.pk}:{'placed' if on_hold else 'released'}",
        data={
            "account_id": hold.account_id,
            "hold_id": hold.pk,
            "on_hold": on_hold,
            "source": hold.source,
            "reason": hold.reason if on_hold else hold.release_note,
        },
    )


@transaction.atomic
def credit_hold_place(
    *, account_id: int, by: User | None, reason: str, source: str = CreditHoldSource.MANUAL
) -> CreditHold:
    """Put an account on credit hold. Refused when it already is (one active hold per account)."""
    _require_finance(by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the account goes on hold.", fields={"reason": ["A reason is required."]})
    if source not in CreditHoldSource.values:
        raise ValidationFailed("Unknown hold source.", fields={"source": ["Manual or rule."]})
    account = _locked_account(account_id)
    if active_hold(account.pk) is not None:
        raise ConflictError(f"{account.name} is already on credit hold.", fields={"account": ["Already on hold."]})
    try:
        with transaction.atomic():
            hold = CreditHold.objects.create(
                account=account,
                source=source,
                reason=reason[:300],
                placed_by=by if getattr(by, "is_authenticated", False) else None,
            )
    except IntegrityError:  # a concurrent placement won the partial unique index
        raise ConflictError(f"{account.name} is already on credit hold.") from None
    audit_record(actor=by, action="crm.credit_hold.place", obj=account, summary=f"Credit hold on {account}: {reason}")
    _emit(hold, on_hold=True)
    return hold


@transaction.atomic
def credit_hold_release(*, account_id: int, by: User | None, note: str = "") -> CreditHold:
    """Lift the account's active hold (finance; or the rule, for a hold the rule placed)."""
    _require_finance(by)
    account = _locked_account(account_id)
    hold = CreditHold.objects.select_for_update().filter(account=account, released_at__isnull=True).first()
    if hold is None:
        raise ConflictError(f"{account.name} is not on credit hold.", fields={"account": ["Not on hold."]})
    if by is None and hold.source != CreditHoldSource.RULE:
        raise PermissionDeniedError("A hold finance placed is released by finance only.")
    hold.released_at = timezone.now()
    hold.released_by = by if getattr(by, "is_authenticated", False) else None
    hold.release_note = ((note or "").strip() or "Released")[:300]
    hold.save(update_fields=["released_at", "released_by", "release_note"])
    audit_record(
        actor=by, action="crm.credit_hold.release", obj=account, summary=f"Credit hold lifted on {account}: {note}"
    )
    _emit(hold, on_hold=False)
    return hold


@transaction.atomic
def credit_deal_approve(*, opportunity_id: int, by: User, note: str = "") -> Opportunity:
    """Finance approves winning one deal of an account on hold (for the current hold only)."""
    _require_finance(by)
    opp = Opportunity.objects.select_for_update().filter(pk=opportunity_id).first()
    if opp is None:
        raise NotFoundError("No such opportunity.")
    if opp.status != OpportunityStatus.OPEN:
        raise ConflictError("Only an open deal needs a credit approval.", fields={"status": [f"It is {opp.status}."]})
    hold = active_hold(opp.account_id)
    if hold is None:
        raise ConflictError(
            "The account is not on credit hold: the deal needs no approval.", fields={"account": ["Not on hold."]}
        )
    opp.credit_approved_hold = hold
    opp.credit_approved_by = by
    opp.credit_approved_at = timezone.now()
    opp.save(update_fields=["credit_approved_hold", "credit_approved_by", "credit_approved_at", "updated_at"])
    audit_record(
        actor=by,
        action="crm.credit_hold.approve_deal",
        obj=opp,
        summary=f"Finance approved winning {opp.name} despite the credit hold{': ' + note if note else ''}",
    )
    return opp


def credit_check_for_win(opp: Opportunity) -> None:
    """Refuse the win of a deal whose account is on hold, unless finance approved this deal under that hold."""
    hold = active_hold(opp.account_id)
    if hold is None or opp.credit_approved_hold_id == hold.pk:
        return
    raise ConflictError(
        f"{opp.account.name} is on credit hold since {hold.placed_at:%Y-%m-%d} ({hold.reason}). The deal cannot "
        "be won until finance releases the hold or approves this deal.",
        fields={"account": ["On credit hold: ask finance to release it or approve this deal."]},
        code="credit_hold",
    )


@transaction.atomic
def credit_limit_set(*, account_id: int, by: User, limit: DecimalInput | None) -> Account:
    """Finance sets (or clears, with None) the account's credit limit used by the hold rule."""
    _require_finance(by)
    account = _locked_account(account_id)
    value: Decimal | None = None
    if limit not in (None, ""):
        try:
            value = to_decimal(limit)
        except (ValueError, ArithmeticError):
            raise ValidationFailed(
                "Enter the credit limit as a number.", fields={"credit_limit": ["A number."]}
            ) from None
        if value < 0:
            raise ValidationFailed("A credit limit cannot be negative.", fields={"credit_limit": ["0 or more."]})
    account.credit_limit = value
    account.save(update_fields=["credit_limit", "updated_at"])
    audit_record(
        actor=by,
        action="crm.credit_limit.set",
        obj=account,
        summary=f"Credit limit of {account} set to {value if value is not None else 'none'}",
    )
    return account
