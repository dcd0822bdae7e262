"""Rate cards: dated rates per role. Lines of one role on one card never overlap."""

from datetime import date

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from crm.models import DeliveryRole
from projects.models import RateCard, RateCardLine
from projects.selectors import rate_card_line_overlap
from projects.services._common import clean_or_refuse
from psa.core.audit import audit_record
from psa.core.exceptions import NotFoundError, PermissionDeniedError, ValidationFailed
from psa.core.history import history_context
from psa.core.money import DecimalInput, to_decimal
from psa.core.roles import Role as UserRole
from psa.core.roles import has_role

RATE_CARD_EDIT_ROLES = (UserRole.FINANCE, UserRole.ADMIN)


def _ensure_may_edit(by: User) -> None:
    if not has_role(by, *RATE_CARD_EDIT_ROLES):
        raise PermissionDeniedError("Only finance and administrators may change rate cards.")


@transaction.atomic
def rate_card_create(*, by: User, name: str, currency: str, is_default: bool = False) -> RateCard:
    """Create a card; a new default card replaces the previous default of its currency."""
    _ensure_may_edit(by)
    card = RateCard(name=name, currency=currency, is_default=is_default)
    clean_or_refuse(card)
    if is_default:
        RateCard.objects.filter(currency=currency, is_default=True).update(is_default=False)
    card.save()
    audit_record(actor=by, action="projects.rate_card.create", obj=card, summary=f"Created rate card {name}")
    return card


@history_context("rate-add", key="rate_card_id", by="by")
@transaction.atomic
def rate_card_line_create(
    *,
    by: User,
    rate_card_id: int,
    role: DeliveryRole,
    rate: DecimalInput,
    valid_from: date,
    valid_to: date | None = None,
) -> RateCardLine:
    """Add a dated rate. Refused when it overlaps another line of the same role on the card (inclusive
    dates, an empty end is open-ended). The card row is locked so two concurrent adds cannot both pass the
    check; PostgreSQL's exclusion constraint backs it up."""
    _ensure_may_edit(by)
    card = RateCard.objects.select_for_update().filter(pk=rate_card_id).first()
    if card is None:
        raise NotFoundError("No such rate card.")
    line = RateCardLine(rate_card=card, role=role, rate=to_decimal(rate), valid_from=valid_from, valid_to=valid_to)
    if valid_to is not None and valid_to < valid_from:
        raise ValidationFailed(
            "The end date is before the start date.", fields={"valid_to": ["Must not be before valid from."]}
        )
    if line.rate < 0:
        raise ValidationFailed("A rate cannot be negative.", fields={"rate": ["Must be zero or more."]})
    clash = rate_card_line_overlap(rate_card_id=card.pk, role_id=role.pk, valid_from=valid_from, valid_to=valid_to)
    if clash is not None:
        until = clash.valid_to.isoformat() if clash.valid_to else "open-ended"
        raise ValidationFailed(
            f"{role.name} already has a rate on {card.name} from {clash.valid_from.isoformat()} to {until}.",
            fields={
                "valid_from": [f"Overlaps the {role.name} rate valid from {clash.valid_from.isoformat()} ({until})."]
            },
        )
    clean_or_refuse(line)
    try:
        with transaction.atomic():
            line.save()
    except IntegrityError:
        raise ValidationFailed(
            "This rate overlaps another rate of the same role.", fields={"valid_from": ["Overlapping dates."]}
        ) from None
    audit_record(
        actor=by, action="projects.rate_card.line_add", obj=card, summary=f"{role.name} at {line.rate} on {card.name}"
    )
    return line
