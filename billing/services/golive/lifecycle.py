"""A go-live's life: created with a cut-over date for an entity, reconciled (every check green), completed, or
rolled back (base.golive_rollback)."""

from datetime import date

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from billing.choices import GoLiveStatus
from billing.models import GoLive
from billing.selectors.golive import golive_reconciliation
from billing.services.golive.base import _require_finance, ensure_golive_transition
from ledger.models import AccountingPeriod
from psa.core.audit import audit_record
from psa.core.exceptions import ConflictError, ValidationFailed
from psa.core.models import LegalEntity


@transaction.atomic
def golive_create(*, entity: LegalEntity, cutover_date: date, user: User, notes: str = "") -> GoLive:
    """A draft go-live for an entity; one at a time per entity (a rolled-back one may be followed by another)."""
    _require_finance(user)
    if not isinstance(cutover_date, date):
        raise ValidationFailed("Cut-over date is required.", fields={"cutover_date": ["Required."]})
    if cutover_date.day != 1:
        # the months before it are closed history and the month it opens is PSA's first: no month is split
        raise ValidationFailed(
            "The cut-over is the first day of a month.",
            fields={"cutover_date": [f"The first of a month, e.g. {cutover_date:%Y-%m}-01."]},
        )
    if GoLive.objects.select_for_update().filter(entity=entity).exclude(status=GoLiveStatus.ROLLED_BACK).exists():
        raise ConflictError(
            f"{entity.name} already has a go-live; roll it back before starting another.",
            fields={"entity": ["This entity already has a go-live."]},
        )
    golive = GoLive.objects.create(entity=entity, cutover_date=cutover_date, created_by=user, notes=notes)
    audit_record(actor=user, action="golive.create", obj=golive, summary=f"Go-live for {entity.name} at {cutover_date}")
    return golive


@transaction.atomic
def golive_complete(*, golive: GoLive, user: User) -> GoLive:
    """Complete the go-live: only when every reconciliation check is green. From then on nothing can be dated
    before the cut-over and the imports can no longer be rolled back."""
    _require_finance(user)
    golive = GoLive.objects.select_for_update().get(pk=golive.pk)
    ensure_golive_transition(golive, GoLiveStatus.COMPLETE)
    checks = golive_reconciliation(golive)
    red = [c for c in checks if not c.ok]
    if not checks or red:
        names = "; ".join(f"{c.name} (difference {c.difference})" for c in red[:10]) or "nothing was imported"
        raise ConflictError(f"The go-live does not reconcile yet: {names}.")
    still_open = (
        AccountingPeriod.objects.filter(start__lt=golive.cutover_date)
        .exclude(closes__entity_id=golive.entity_id)
        .order_by("start")
        .first()
    )
    if still_open is not None:
        raise ConflictError(
            f"{still_open.label} is before the cut-over but open for {golive.entity.code}: import the historical "
            "periods (they close every month before the cut-over) before completing.",
            code="open_month_before_cutover",
        )
    golive.status = GoLiveStatus.COMPLETE
    golive.completed_at, golive.completed_by = timezone.now(), user
    golive.save(update_fields=["status", "completed_at", "completed_by"])
    # From now on the entity's books start at the cut-over: nothing of it may be dated before (psa.core.entities).
    LegalEntity.objects.filter(pk=golive.entity_id).update(books_start=golive.cutover_date)
    audit_record(actor=user, action="golive.complete", obj=golive, summary=f"Completed go-live {golive.pk}")
    return golive


@transaction.atomic
def golive_reconcile(*, golive: GoLive, user: User) -> GoLive:
    """Mark the go-live reconciled when every check is green (and back to draft when one is not)."""
    _require_finance(user)
    golive = GoLive.objects.select_for_update().get(pk=golive.pk)
    checks = golive_reconciliation(golive)
    green = bool(checks) and all(c.ok for c in checks)
    target = GoLiveStatus.RECONCILED if green else GoLiveStatus.DRAFT
    if golive.status != target:
        ensure_golive_transition(golive, target)
        golive.status = target
        golive.save(update_fields=["status"])
    return golive
