"""Project, milestone and change-order writes.

Projects and milestones are run by project managers (any PM may act on any project; admins too). Change
orders are raised by PMs or sales and decided by finance or an admin, never by the person who raised them.
"""

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import models, transaction
from django.db.models import Max
from django.utils import timezone

from projects.choices import (
    CHANGE_ORDER_TRANSITIONS,
    MILESTONE_TRANSITIONS,
    PROJECT_TRANSITIONS,
    ChangeAction,
    ChangeOrderStatus,
    MilestoneStatus,
)
from projects.models import (
    ChangeOrder,
    ChangeOrderHistory,
    ChangeOrderLine,
    Contract,
    ContractLine,
    Milestone,
    MilestoneHistory,
    Project,
    ProjectHistory,
)
from projects.services._common import clean_or_refuse
from psa.core.audit import audit_record
from psa.core.currency import functional_currency
from psa.core.exceptions import NotFoundError, PermissionDeniedError, ValidationFailed, ensure_transition
from psa.core.money import ZERO, to_decimal
from psa.core.roles import Role, has_role

PM_ROLES = (Role.PROJECT_MANAGER, Role.ADMIN)
CO_REQUEST_ROLES = (Role.PROJECT_MANAGER, Role.SALES, Role.ADMIN)
CO_DECIDE_ROLES = (Role.FINANCE, Role.ADMIN)


def _require(by: User, roles: Iterable[str], message: str) -> None:
    if not has_role(by, *roles):
        raise PermissionDeniedError(message)


def _get_locked[M: models.Model](model: type[M], pk: int, label: str) -> M:
    obj = model._default_manager.select_for_update().filter(pk=pk).first()
    if obj is None:
        raise NotFoundError(f"No such {label}.")
    return obj


@transaction.atomic
def project_transition(*, project_id: int, to_status: str, by: User, note: str = "") -> Project:
    """Move a project along its status table (planned → active → on hold / completed / cancelled)."""
    _require(by, PM_ROLES, "Only project managers may change a project's status.")
    project = _get_locked(Project, project_id, "project")
    ensure_transition(project.status, to_status, PROJECT_TRANSITIONS)
    from_status = project.status
    project.status = to_status
    project.save(update_fields=["status", "updated_at"])
    ProjectHistory.objects.create(project=project, by=by, from_status=from_status, to_status=to_status, note=note)
    audit_record(
        actor=by, action="projects.project.status", obj=project, summary=f"{project.code}: {from_status} → {to_status}"
    )
    return project


def _level(value: object, name: str, errors: dict[str, list[str]]) -> int:
    try:
        level = int(str(value).strip())
    except ValueError:
        errors[name] = ["Enter a whole percentage, e.g. 80."]
        return 0
    if not 1 <= level <= 1000:
        errors[name] = ["Between 1 and 1000 %."]
    return level


@transaction.atomic
def project_alert_levels_set(*, project_id: int, warning: object, over: object, by: User) -> Project:
    """Set the project's burn-alert levels (percent of budget hours and amount; ledger.services.budget_alerts).
    The project's manager, finance or an administrator; the warning level is below the budget level."""
    project = _get_locked(Project, project_id, "project")
    if not (has_role(by, Role.FINANCE, Role.ADMIN) or project.project_manager_id == by.pk):
        raise PermissionDeniedError("Only the project's manager, finance or an administrator may set its alert levels.")
    errors: dict[str, list[str]] = {}
    warn, top = _level(warning, "alert_warning_percent", errors), _level(over, "alert_over_percent", errors)
    if not errors and warn >= top:
        errors["alert_warning_percent"] = [f"The warning level ({warn} %) must be below the budget level ({top} %)."]
    if errors:
        raise ValidationFailed(f"The alert levels were not changed: {next(iter(errors.values()))[0]}", fields=errors)
    project.alert_warning_percent, project.alert_over_percent = warn, top
    project.save(update_fields=["alert_warning_percent", "alert_over_percent", "updated_at"])
    audit_record(
        actor=by,
        action="projects.project.alert_levels",
        obj=project,
        summary=f"{project.code}: alerts at {warn} % and {top} %",
    )
    return project


def _milestone_move(*, milestone_id: int, to_status: str, by: User) -> Milestone:
    _require(by, PM_ROLES, "Only project managers may record milestones.")
    milestone = _get_locked(Milestone, milestone_id, "milestone")
    ensure_transition(milestone.status, to_status, MILESTONE_TRANSITIONS)
    from_status = milestone.status
    milestone.status = to_status
    now = timezone.now()
    if to_status == MilestoneStatus.ACHIEVED:
        milestone.achieved_at = now
    elif to_status == MilestoneStatus.ACCEPTED:
        milestone.accepted_at = now
    else:
        milestone.achieved_at = None
    milestone.save(update_fields=["status", "achieved_at", "accepted_at"])
    MilestoneHistory.objects.create(milestone=milestone, by=by, from_status=from_status, to_status=to_status)
    audit_record(
        actor=by,
        action="projects.milestone.status",
        obj=milestone,
        summary=f"{milestone.name}: {from_status} → {to_status}",
    )
    return milestone


@transaction.atomic
def milestone_achieve(*, milestone_id: int, by: User) -> Milestone:
    return _milestone_move(milestone_id=milestone_id, to_status=MilestoneStatus.ACHIEVED, by=by)


@transaction.atomic
def milestone_accept(*, milestone_id: int, by: User) -> Milestone:
    """The client accepted the milestone; billing may invoice it and revenue may recognise it."""
    return _milestone_move(milestone_id=milestone_id, to_status=MilestoneStatus.ACCEPTED, by=by)


# --- change orders --------------------------------------------------------------------------------------
def _validate_co_line(contract: Contract, spec: dict, index: int) -> ChangeOrderLine:
    key = f"lines[{index}]"
    action = spec.get("action")
    errors: dict[str, list[str]] = {}
    line = ChangeOrderLine(  # type: ignore[misc]  # an empty action is refused below
        action=action,
        contract_line=spec.get("contract_line"),
        description=spec.get("description", ""),
        billing_model=spec.get("billing_model", ""),
        rate=to_decimal(spec["rate"]) if spec.get("rate") not in (None, "") else None,
        hours_delta=to_decimal(spec.get("hours_delta") or "0"),
        value_delta=to_decimal(spec.get("value_delta") or "0"),
        new_end_date=spec.get("new_end_date"),
        milestone_name=spec.get("milestone_name", ""),
        milestone_amount=to_decimal(spec["milestone_amount"])
        if spec.get("milestone_amount") not in (None, "")
        else None,
        milestone_due_date=spec.get("milestone_due_date"),
    )
    if action == ChangeAction.ADD:
        if not line.description:
            errors[f"{key}.description"] = ["A new line needs a description."]
        if not line.billing_model:
            errors[f"{key}.billing_model"] = ["A new line needs a billing model."]
        if line.value_delta <= 0 and line.hours_delta <= 0:
            errors[f"{key}.value_delta"] = ["A new line needs a value or hours."]
    elif action == ChangeAction.AMEND:
        if line.contract_line is None or line.contract_line.contract_id != contract.pk:
            errors[f"{key}.contract_line"] = ["Choose a line of this contract to amend."]
        elif line.contract_line.price + line.value_delta < 0 or line.contract_line.hours + line.hours_delta < 0:
            errors[f"{key}.value_delta"] = ["The line's value and hours cannot go below zero."]
    else:
        errors[f"{key}.action"] = ["Choose add or amend."]
    if line.new_end_date and line.new_end_date < contract.start_date:
        errors[f"{key}.new_end_date"] = ["The new end date is before the contract start."]
    has_ms = [bool(line.milestone_name), line.milestone_amount is not None, line.milestone_due_date is not None]
    if any(has_ms) and not all(has_ms):
        errors[f"{key}.milestone_name"] = ["A milestone needs a name, an amount and a due date."]
    if errors:
        raise ValidationFailed(next(iter(errors.values()))[0], fields=errors)
    return line


@transaction.atomic
def change_order_create(*, contract_id: int, by: User, title: str, reason: str = "", lines: list[dict]) -> ChangeOrder:
    """Draft a change order with its lines (`add` a line or `amend` one: value, hours, end date, milestone)."""
    _require(by, CO_REQUEST_ROLES, "Only project managers and sales may raise change orders.")
    contract = _get_locked(Contract, contract_id, "contract")
    if not title.strip():
        raise ValidationFailed("A change order needs a title.", fields={"title": ["Required."]})
    if not lines:
        raise ValidationFailed("A change order needs at least one line.", fields={"lines": ["Add a change."]})
    specs = [_validate_co_line(contract, spec, i) for i, spec in enumerate(lines, start=1)]
    number = (ChangeOrder.objects.filter(contract=contract).aggregate(n=Max("number"))["n"] or 0) + 1
    co = ChangeOrder.objects.create(
        contract=contract, number=number, title=title.strip(), reason=reason, requested_by=by
    )
    for spec in specs:
        spec.change_order = co
    ChangeOrderLine.objects.bulk_create(specs)
    ChangeOrderHistory.objects.create(change_order=co, by=by, from_status="", to_status=co.status, note="Drafted")
    audit_record(
        actor=by, action="projects.change_order.create", obj=co, summary=f"{contract.number} CO-{number}: {title}"
    )
    return co


def _co_move(co: ChangeOrder, to_status: str, by: User, note: str = "") -> None:
    ensure_transition(co.status, to_status, CHANGE_ORDER_TRANSITIONS)
    from_status = co.status
    co.status = to_status
    if to_status in (ChangeOrderStatus.APPROVED, ChangeOrderStatus.REJECTED):
        co.decided_by, co.decided_at = by, timezone.now()
    co.save(update_fields=["status", "decided_by", "decided_at"])
    ChangeOrderHistory.objects.create(change_order=co, by=by, from_status=from_status, to_status=to_status, note=note)
    audit_record(
        actor=by,
        action=f"projects.change_order.{to_status}",
        obj=co,
        summary=f"{co.contract.number} CO-{co.number}: {from_status} → {to_status}",
    )


@transaction.atomic
def change_order_submit(*, change_order_id: int, by: User) -> ChangeOrder:
    _require(by, CO_REQUEST_ROLES, "Only project managers and sales may submit change orders.")
    co = _get_locked(ChangeOrder, change_order_id, "change order")
    _co_move(co, ChangeOrderStatus.SUBMITTED, by)
    return co


@transaction.atomic
def change_order_reject(*, change_order_id: int, by: User, note: str) -> ChangeOrder:
    _require(by, CO_DECIDE_ROLES, "Only finance or an administrator may decide change orders.")
    co = _get_locked(ChangeOrder, change_order_id, "change order")
    if not (note or "").strip():
        raise ValidationFailed("Say why the change order is rejected.", fields={"note": ["A reason is required."]})
    _co_move(co, ChangeOrderStatus.REJECTED, by, note=note.strip())
    return co


@transaction.atomic
def change_order_approve(*, change_order_id: int, by: User) -> ChangeOrder:
    """Approve and apply: new lines are added, amended lines take the deltas, milestones are created, and the
    contract end and the project's budget hours, budget amount and end date follow. Locks contract, then
    change order, then the affected lines in primary-key order."""
    _require(by, CO_DECIDE_ROLES, "Only finance or an administrator may approve change orders.")
    co = ChangeOrder.objects.select_related("contract").filter(pk=change_order_id).first()
    if co is None:
        raise NotFoundError("No such change order.")
    contract = _get_locked(Contract, co.contract_id, "contract")
    co = _get_locked(ChangeOrder, change_order_id, "change order")
    if co.requested_by_id == by.pk:
        raise PermissionDeniedError("The person who raised a change order may not approve it.")
    ensure_transition(co.status, ChangeOrderStatus.APPROVED, CHANGE_ORDER_TRANSITIONS)
    project = _get_locked(Project, contract.project_id, "project")
    changes = list(co.lines.order_by("id"))
    targets = {
        cl.pk: cl
        for cl in ContractLine.objects.select_for_update()
        .filter(pk__in=[c.contract_line_id for c in changes if c.contract_line_id])
        .order_by("pk")
    }
    next_position = (contract.lines.aggregate(p=Max("position"))["p"] or 0) + 1
    hours_total, value_total = Decimal(0), ZERO
    new_end: date = contract.end_date
    milestones = []
    for change in changes:
        if change.action == ChangeAction.ADD:
            line = ContractLine.objects.create(
                contract=contract,
                position=next_position,
                description=change.description,
                billing_model=change.billing_model,
                hours=change.hours_delta,
                rate=change.rate,
                price=change.value_delta,
                start_date=contract.start_date,
                end_date=change.new_end_date or contract.end_date,
            )
            next_position += 1
        else:
            assert change.contract_line_id is not None  # a change to an existing line names it
            line = targets[change.contract_line_id]
            line.hours += change.hours_delta
            line.price += change.value_delta
            if line.cap is not None:
                line.cap += change.value_delta
            if change.new_end_date:
                line.end_date = change.new_end_date
            clean_or_refuse(line)
            line.save(update_fields=["hours", "price", "cap", "end_date"])
        hours_total += change.hours_delta
        value_total += change.value_delta
        new_end = max(new_end, line.end_date)
        if change.milestone_name:
            assert change.milestone_amount is not None and change.milestone_due_date is not None  # full_clean
            milestones.append(
                Milestone(
                    project=project,
                    contract_line=line,
                    name=change.milestone_name,
                    amount=change.milestone_amount,
                    due_date=change.milestone_due_date,
                )
            )
    Milestone.objects.bulk_create(milestones)
    contract.end_date = new_end
    contract.save(update_fields=["end_date"])
    project.budget_hours = max(project.budget_hours + hours_total, ZERO)
    project.budget_amount = max(project.budget_amount + value_total, ZERO)
    if project.end_date is None or new_end > project.end_date:
        project.end_date = new_end
    project.save(update_fields=["budget_hours", "budget_amount", "end_date", "updated_at"])
    co.contract = contract
    _co_move(co, ChangeOrderStatus.APPROVED, by, note=f"Budget {value_total:+} / {hours_total:+} h")
    return co


@transaction.atomic
def contract_line_retainage_set(*, line_id: int, percent: object, by: User) -> ContractLine:
    """Set the share of each future invoice line of a contract line held back as retainage until acceptance
    (finance). 0 to under 100 percent, two decimals; only in the books' functional currency (the retainage
    receivable is never revalued). Invoices already issued keep the retainage they were issued with."""
    _require(by, (Role.FINANCE, Role.ADMIN), "Only finance sets retainage.")
    line = _get_locked(ContractLine, line_id, "contract line")
    try:
        value = to_decimal(percent)
    except (TypeError, ValueError, ArithmeticError):
        value = None
    if value is None or value < 0 or value >= 100 or value != value.quantize(Decimal("0.01")):
        raise ValidationFailed(
            "Retainage is a percent from 0 to under 100, with two decimals at most.",
            fields={"retainage_percent": ["From 0 to 99.99."]},
        )
    currency = functional_currency()
    if value and line.contract.currency != currency:
        raise ValidationFailed(
            f"Retainage is held only on contracts in {currency}; this one is in {line.contract.currency}.",
            fields={"retainage_percent": [f"Only on {currency} contracts."]},
        )
    before = line.retainage_percent
    line.retainage_percent = value
    clean_or_refuse(line)
    line.save(update_fields=["retainage_percent"])
    audit_record(
        actor=by,
        action="projects.contract_line_retainage_set",
        obj=line,
        summary=f"Retainage on {line.contract.number} line {line.position}: {before}% -> {value}%",
    )
    return line
