"""Pipeline writes: opportunities, their lines, milestones and role demand, and the stage transitions.

Every transition locks the deal row (`select_for_update`), checks the status table, and writes a StageHistory
row and an audit event. Winning lives in projects.services.handoff (it provisions the engagement, which crm
may not import); it calls `opportunity_mark_won` here inside its own transaction.
"""

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from crm.choices import OPPORTUNITY_TRANSITIONS, BillingModel, OpportunityStatus, StageKind
from crm.models import (
    Account,
    DeliveryRole,
    LineMilestone,
    Opportunity,
    OpportunityLine,
    RoleDemand,
    Stage,
    StageHistory,
)
from crm.permissions import can_edit_pipeline, is_sales_manager, may_change_deal
from crm.services._common import clean_or_refuse
from psa.core.audit import audit_record
from psa.core.exceptions import (
    InvalidTransition,
    MissingFields,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailed,
    ensure_transition,
)
from psa.core.labels import person_name
from psa.core.money import DecimalInput, to_decimal
from psa.core.roles import Role as UserRole
from psa.core.roles import has_role

OPPORTUNITY_FIELDS = (
    "name",
    "account",
    "owner",
    "stage",
    "currency",
    "probability",
    "expected_close_date",
    "service_start",
    "service_end",
    "service_type",
    "payment_terms_days",
    "delivery_manager",
    "notes",
    "external_id",
    "entity",
)
LINE_FIELDS = ("description", "billing_model", "hours", "rate", "price", "cap", "position")


# --- lookups and checks ---------------------------------------------------------------------------------
def _locked(opportunity_id: int) -> Opportunity:
    try:
        # No select_related: a FOR UPDATE over a join drops the row when a concurrent writer changed the
        # joined key (stage) before we got the lock.
        return Opportunity.objects.select_for_update().get(pk=opportunity_id)
    except Opportunity.DoesNotExist:
        raise NotFoundError("No such opportunity.") from None


def ensure_may_change(by: User, opportunity: Opportunity) -> None:
    """Owners change their own deals; sales managers anyone's; everyone else is refused (403)."""
    if not can_edit_pipeline(by):
        raise PermissionDeniedError("Your role may not change deals.")
    if not may_change_deal(by, opportunity):
        raise PermissionDeniedError(
            f"Only the owner ({person_name(opportunity.owner)}) or a sales manager may change this deal."
        )


def _ensure_open(opportunity: Opportunity) -> None:
    if opportunity.status != OpportunityStatus.OPEN:
        raise InvalidTransition(
            f"The deal is {opportunity.get_status_display().lower()}; only open deals can be changed.",
            fields={"status": [f"The deal is {opportunity.status}."]},
        )


def _validate_opportunity(opp: Opportunity) -> None:
    """Cross-field rules a form cannot see: probability range, date order, the account's currency."""
    errors: dict[str, list[str]] = {}
    if opp.probability is not None and not 0 <= opp.probability <= 100:
        errors["probability"] = ["Probability must be between 0 and 100."]
    if opp.service_start and opp.service_end and opp.service_end < opp.service_start:
        errors["service_end"] = ["The service end must not be before the service start."]
    if opp.account_id and opp.currency and opp.currency != opp.account.currency:
        errors["currency"] = [
            f"The account {opp.account.name} invoices in {opp.account.currency}; the deal must be in "
            f"{opp.account.currency} too."
        ]
    if opp.stage_id and opp.stage.kind != StageKind.OPEN and opp.status == OpportunityStatus.OPEN:
        errors["stage"] = ["Open deals sit in an open stage; win or lose the deal to close it."]
    if opp.owner_id and not has_role(opp.owner, UserRole.SALES):
        errors["owner"] = ["The owner must be a sales rep."]
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first, fields=errors)


def _first_open_stage() -> Stage:
    stage = Stage.objects.filter(kind=StageKind.OPEN, is_active=True).order_by("order").first()
    if stage is None:
        raise ValidationFailed("No open pipeline stage is configured.", fields={"stage": ["Configure stages."]})
    return stage


def _closing_stage(kind: str) -> Stage:
    stage = Stage.objects.filter(kind=kind).order_by("order").first()
    if stage is None:
        raise ValidationFailed(f"No '{kind}' stage is configured.", fields={"stage": [f"Add a {kind} stage."]})
    return stage


def _history(opp: Opportunity, *, by: User, from_stage: Stage | None, from_status: str, note: str = "") -> StageHistory:
    return StageHistory.objects.create(
        opportunity=opp,
        by=by if getattr(by, "is_authenticated", False) else None,
        from_stage=from_stage,
        to_stage=opp.stage,
        from_status=from_status,
        to_status=opp.status,
        probability=opp.probability,
        note=note[:300],
    )


def _recompute_amount(opp: Opportunity) -> None:
    """amount = sum of the lines' values (each rounded once)."""
    total = OpportunityLine.objects.filter(opportunity=opp).aggregate(s=Sum("amount"))["s"] or Decimal("0.00")
    Opportunity.objects.filter(pk=opp.pk).update(amount=total, updated_at=timezone.now())
    opp.amount = total


# --- create and edit ------------------------------------------------------------------------------------
@transaction.atomic
def opportunity_create(
    *,
    by: User,
    account: Account,
    name: str,
    expected_close_date: date,
    owner: User | None = None,
    stage: Stage | None = None,
    probability: int | None = None,
    currency: str | None = None,
    lines: Iterable[dict] = (),
    **fields: Any,
) -> Opportunity:
    """Open a deal. Probability defaults from the stage; the currency from the account (and must equal it).
    A sales rep owns the deals it creates; only a sales manager may create one for someone else."""
    if not can_edit_pipeline(by):
        raise PermissionDeniedError("Your role may not create deals.")
    unknown = set(fields) - set(OPPORTUNITY_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown opportunity fields: {', '.join(sorted(unknown))}.")
    owner = owner or by
    if owner.pk != by.pk and not is_sales_manager(by):
        raise PermissionDeniedError("Only a sales manager may create a deal for another owner.")
    stage = stage or _first_open_stage()
    opp = Opportunity(
        account=account,
        name=name,
        owner=owner,
        stage=stage,
        status=OpportunityStatus.OPEN,
        currency=currency or account.currency,
        probability=stage.default_probability if probability is None else probability,
        expected_close_date=expected_close_date,
        **fields,
    )
    if opp.payment_terms_days is None:
        opp.payment_terms_days = account.payment_terms_days
    if opp.external_id == "":
        opp.external_id = None
    _validate_opportunity(opp)
    clean_or_refuse(opp)
    opp.save()
    for position, line in enumerate(lines, start=1):
        _line_add(opp, position=line.pop("position", position), **line)
    _recompute_amount(opp)
    _history(opp, by=by, from_stage=None, from_status="", note="Created")
    audit_record(actor=by, action="crm.opportunity.create", obj=opp, summary=f"Opened deal {opp.name}")
    return opp


@transaction.atomic
def opportunity_update(*, opportunity_id: int, by: User, **fields: Any) -> Opportunity:
    """Edit an open deal's header. Stage changes go through `opportunity_move` (they write history)."""
    opp = _locked(opportunity_id)
    ensure_may_change(by, opp)
    _ensure_open(opp)
    unknown = set(fields) - (set(OPPORTUNITY_FIELDS) - {"stage"})
    if unknown:
        raise ValidationFailed(f"These fields cannot be edited here: {', '.join(sorted(unknown))}.")
    new_owner = fields.get("owner")
    if new_owner is not None and new_owner.pk != opp.owner_id and not is_sales_manager(by):
        raise PermissionDeniedError("Only a sales manager may hand a deal to another owner.")
    for name, value in fields.items():
        setattr(opp, name, value)
    if opp.external_id == "":
        opp.external_id = None
    _validate_opportunity(opp)
    clean_or_refuse(opp)
    opp.save()
    audit_record(actor=by, action="crm.opportunity.update", obj=opp, summary=f"Edited deal {opp.name}")
    return opp


def _line_add(
    opp: Opportunity, *, milestones: Iterable[dict] = (), role_demands: Iterable[dict] = (), **fields: Any
) -> OpportunityLine:
    unknown = set(fields) - set(LINE_FIELDS)
    if unknown:
        raise ValidationFailed(f"Unknown line fields: {', '.join(sorted(unknown))}.")
    for key in ("hours", "rate", "price", "cap"):
        if fields.get(key) not in (None, ""):
            fields[key] = to_decimal(fields[key])
        else:
            fields[key] = None
    if "position" not in fields:
        fields["position"] = (opp.lines.count() or 0) + 1
    line = OpportunityLine(opportunity=opp, **fields)
    errors = {}
    if line.billing_model == BillingModel.TIME_AND_MATERIALS and line.price is not None and line.rate is None:
        errors["rate"] = ["A time-and-materials line is priced by rate x hours."]
    if line.cap is not None and line.billing_model not in ("", BillingModel.TIME_AND_MATERIALS):
        errors["cap"] = ["A cap applies to time-and-materials lines only."]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)
    line.amount = line.compute_amount()
    clean_or_refuse(line, exclude=["opportunity"])
    line.save()
    for m in milestones:
        _milestone_add(line, **m)
    for d in role_demands:
        _demand_add(line, **d)
    return line


def _milestone_add(line: OpportunityLine, *, name: str, amount: DecimalInput, due_date: date) -> LineMilestone:
    if line.billing_model != BillingModel.MILESTONE:
        raise ValidationFailed(
            "Only milestone lines carry milestones.", fields={"billing_model": ["Set the line to milestone billing."]}
        )
    milestone = LineMilestone(line=line, name=name, amount=to_decimal(amount), due_date=due_date)
    if milestone.amount <= 0:
        raise ValidationFailed("A milestone amount must be positive.", fields={"amount": ["Must be above zero."]})
    clean_or_refuse(milestone, exclude=["line"])
    milestone.save()
    return milestone


def _demand_add(
    line: OpportunityLine, *, role: DeliveryRole, hours: DecimalInput, start_date: date, end_date: date
) -> RoleDemand:
    demand = RoleDemand(line=line, role=role, hours=to_decimal(hours), start_date=start_date, end_date=end_date)
    errors = {}
    if demand.hours <= 0:
        errors["hours"] = ["Hours must be above zero."]
    if end_date < start_date:
        errors["end_date"] = ["The end date must not be before the start date."]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)
    clean_or_refuse(demand, exclude=["line"])
    demand.save()
    return demand


@transaction.atomic
def opportunity_line_add(*, opportunity_id: int, by: User, **fields: Any) -> OpportunityLine:
    """Add a line (with optional `milestones` and `role_demands`); the deal amount follows."""
    opp = _locked(opportunity_id)
    ensure_may_change(by, opp)
    _ensure_open(opp)
    line = _line_add(opp, **fields)
    _recompute_amount(opp)
    audit_record(actor=by, action="crm.opportunity.line_add", obj=opp, summary=f"Added line {line} to {opp.name}")
    return line


@transaction.atomic
def opportunity_line_remove(*, line_id: int, by: User) -> Opportunity:
    line = OpportunityLine.objects.filter(pk=line_id).first()
    if line is None:
        raise NotFoundError("No such line.")
    opp = _locked(line.opportunity_id)
    ensure_may_change(by, opp)
    _ensure_open(opp)
    line.delete()
    _recompute_amount(opp)
    audit_record(actor=by, action="crm.opportunity.line_remove", obj=opp, summary=f"Removed a line from {opp.name}")
    return opp


@transaction.atomic
def line_milestone_add(*, line_id: int, by: User, name: str, amount: DecimalInput, due_date: date) -> LineMilestone:
    line = OpportunityLine.objects.filter(pk=line_id).first()
    if line is None:
        raise NotFoundError("No such line.")
    opp = _locked(line.opportunity_id)
    ensure_may_change(by, opp)
    _ensure_open(opp)
    return _milestone_add(line, name=name, amount=amount, due_date=due_date)


@transaction.atomic
def role_demand_add(
    *, line_id: int, by: User, role: DeliveryRole, hours: DecimalInput, start_date: date, end_date: date
) -> RoleDemand:
    """Demand `hours` of `role` between two dates for a line of an open deal."""
    line = OpportunityLine.objects.filter(pk=line_id).first()
    if line is None:
        raise NotFoundError("No such line.")
    opp = _locked(line.opportunity_id)
    ensure_may_change(by, opp)
    _ensure_open(opp)
    demand = _demand_add(line, role=role, hours=hours, start_date=start_date, end_date=end_date)
    audit_record(
        actor=by, action="crm.opportunity.demand_add", obj=opp, summary=f"Demand {demand} of {role} on {opp.name}"
    )
    return demand


@transaction.atomic
def role_demand_remove(*, demand_id: int, by: User) -> None:
    demand = RoleDemand.objects.select_related("line").filter(pk=demand_id).first()
    if demand is None:
        raise NotFoundError("No such role demand.")
    opp = _locked(demand.line.opportunity_id)
    ensure_may_change(by, opp)
    _ensure_open(opp)
    demand.delete()


# --- transitions ----------------------------------------------------------------------------------------
@transaction.atomic
def opportunity_move(*, opportunity_id: int, stage_id: int, by: User, probability: int | None = None) -> Opportunity:
    """Move an open deal to another open stage. Probability takes the stage's default unless given."""
    opp = _locked(opportunity_id)
    ensure_may_change(by, opp)
    _ensure_open(opp)
    stage = Stage.objects.filter(pk=stage_id, is_active=True).first()
    if stage is None:
        raise ValidationFailed("No such stage.", fields={"stage": ["Choose an existing stage."]})
    if stage.kind != StageKind.OPEN:
        raise InvalidTransition(
            f"Moving to '{stage.name}' closes the deal; use win or lose instead.",
            fields={"stage": ["Win or lose the deal to close it."]},
        )
    if stage.pk == opp.stage_id and probability is None:
        return opp
    from_stage = opp.stage
    opp.stage = stage
    opp.probability = stage.default_probability if probability is None else probability
    _validate_opportunity(opp)
    opp.save(update_fields=["stage", "probability", "updated_at"])
    _history(opp, by=by, from_stage=from_stage, from_status=opp.status)
    audit_record(
        actor=by,
        action="crm.opportunity.move",
        obj=opp,
        summary=f"Moved {opp.name} from {from_stage.name} to {stage.name}",
    )
    return opp


@transaction.atomic
def opportunity_lose(*, opportunity_id: int, by: User, reason: str) -> Opportunity:
    """Close a deal as lost. A reason is required."""
    opp = _locked(opportunity_id)
    ensure_may_change(by, opp)
    reason = (reason or "").strip()
    if not reason:
        raise MissingFields("Say why the deal was lost.", fields={"lost_reason": ["A lost reason is required."]})
    ensure_transition(opp.status, OpportunityStatus.LOST, OPPORTUNITY_TRANSITIONS)
    from_stage, from_status = opp.stage, opp.status
    opp.stage = _closing_stage(StageKind.LOST)
    opp.status = OpportunityStatus.LOST
    opp.probability = 0
    opp.lost_reason = reason[:300]
    opp.closed_at = timezone.now()
    opp.save(update_fields=["stage", "status", "probability", "lost_reason", "closed_at", "updated_at"])
    _history(opp, by=by, from_stage=from_stage, from_status=from_status, note=reason)
    audit_record(actor=by, action="crm.opportunity.lose", obj=opp, summary=f"Lost {opp.name}: {reason}")
    return opp


@transaction.atomic
def opportunity_reopen(*, opportunity_id: int, by: User) -> Opportunity:
    """Reopen a lost deal in the first open stage."""
    opp = _locked(opportunity_id)
    ensure_may_change(by, opp)
    ensure_transition(opp.status, OpportunityStatus.OPEN, OPPORTUNITY_TRANSITIONS)
    from_stage, from_status = opp.stage, opp.status
    opp.stage = _first_open_stage()
    opp.status = OpportunityStatus.OPEN
    opp.probability = opp.stage.default_probability
    opp.lost_reason = ""
    opp.closed_at = None
    opp.save(update_fields=["stage", "status", "probability", "lost_reason", "closed_at", "updated_at"])
    _history(opp, by=by, from_stage=from_stage, from_status=from_status, note="Reopened")
    audit_record(actor=by, action="crm.opportunity.reopen", obj=opp, summary=f"Reopened {opp.name}")
    return opp


def opportunity_mark_won(*, opportunity: Opportunity, by: User) -> Opportunity:
    """The crm half of a win, called by the handoff inside its transaction on an already locked row."""
    ensure_transition(opportunity.status, OpportunityStatus.WON, OPPORTUNITY_TRANSITIONS)
    from_stage, from_status = opportunity.stage, opportunity.status
    opportunity.stage = _closing_stage(StageKind.WON)
    opportunity.status = OpportunityStatus.WON
    opportunity.probability = 100
    opportunity.closed_at = timezone.now()
    opportunity.save(update_fields=["stage", "status", "probability", "closed_at", "updated_at"])
    _history(opportunity, by=by, from_stage=from_stage, from_status=from_status, note="Won")
    audit_record(actor=by, action="crm.opportunity.win", obj=opportunity, summary=f"Won {opportunity.name}")
    return opportunity
