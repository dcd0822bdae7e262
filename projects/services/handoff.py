"""The closed-won handoff: one service wins a deal and provisions the engagement (DESIGN.md section 3).

In one transaction it locks the opportunity row, checks every mandatory field (refusing with one
MissingFields error that lists them all and creating nothing), then creates the contract and its lines, the
project from the template picked by the service type (tasks, milestones, budget) and the resource requests
from the role demand, and marks the deal won.

Idempotent: the row lock serialises concurrent wins; the second caller finds the deal already won and gets
the same contract back. `Contract.opportunity` is unique as a database backstop.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction

from crm import services as crm_services
from crm.choices import BillingModel, OpportunityStatus
from crm.models import Opportunity, RoleDemand
from crm.selectors import win_missing_fields
from projects.choices import ProjectStatus
from projects.models import (
    Consultant,
    Contract,
    ContractLine,
    Milestone,
    Project,
    ProjectHistory,
    ProjectTemplate,
    RateCard,
    ResourceRequest,
    Task,
)
from psa.core.audit import audit_record
from psa.core.entities import entity_default_id
from psa.core.exceptions import InvalidTransition, MissingFields, NotFoundError
from psa.core.money import ZERO, allocate
from psa.core.webhooks import correlation_id_for_deal, event_emit


@dataclass
class WinResult:
    contract: Contract
    project: Project
    created: bool  # False when the deal was already won (an idempotent repeat)


def deal_entity_id(opp: Opportunity) -> int:
    """The legal entity that sells a won deal: the deal's own, else the account's default entity, else the sales
    owner's employing entity, else the firm's default entity."""
    if opp.entity_id:
        return opp.entity_id
    if opp.account.entity_id:
        return opp.account.entity_id
    owner = Consultant.objects.filter(user_id=opp.owner_id).values_list("entity_id", flat=True).first()
    return owner or entity_default_id()


def _already_won(opp: Opportunity) -> WinResult:
    contract = Contract.objects.select_related("project").filter(opportunity=opp).first()
    if contract is None:  # won before the handoff existed, or provisioned by hand
        raise InvalidTransition("The deal is won but has no contract.", fields={"status": ["Already won."]})
    return WinResult(contract=contract, project=contract.project, created=False)


@transaction.atomic
def opportunity_win(*, opportunity_id: int, by: User) -> WinResult:
    """Win a deal: refuse with every missing field, or provision contract, project and requests once."""
    try:
        opp = Opportunity.objects.select_for_update().get(pk=opportunity_id)
    except Opportunity.DoesNotExist:
        raise NotFoundError("No such opportunity.") from None
    crm_services.ensure_may_change(by, opp)
    if opp.status == OpportunityStatus.WON:
        return _already_won(opp)
    if opp.status != OpportunityStatus.OPEN:
        raise InvalidTransition(
            f"A {opp.get_status_display().lower()} deal cannot be won; reopen it first.",
            fields={"status": [f"The deal is {opp.status}."]},
        )
    crm_services.credit_check_for_win(opp)
    missing = win_missing_fields(opp)
    template = None
    if opp.service_type:
        template = (
            ProjectTemplate.objects.prefetch_related("task_templates", "milestone_templates")
            .filter(service_type=opp.service_type)
            .first()
        )
        if template is None:
            missing["service_type"] = [f"No project template is set up for '{opp.get_service_type_display()}'."]
    if missing:
        raise MissingFields(
            f"The deal cannot be won yet: {len(missing)} required field(s) missing: {', '.join(missing)}.",
            fields=missing,
        )
    # win_missing_fields refused every gap: the template, the service dates and the terms are set.
    assert template is not None and opp.service_start and opp.service_end and opp.payment_terms_days is not None

    lines = list(opp.lines.prefetch_related("milestones").order_by("position", "id"))
    demands = list(RoleDemand.objects.filter(line__opportunity=opp).order_by("start_date", "id"))
    demand_hours = sum((d.hours for d in demands), ZERO)
    line_hours = sum((line.hours or ZERO for line in lines), ZERO)
    budget_hours = demand_hours or line_hours

    entity_id = deal_entity_id(opp)
    project = Project.objects.create(
        code=f"{template.code_prefix}-{opp.pk:05d}",
        entity_id=entity_id,
        name=opp.name,
        account=opp.account,
        project_manager=opp.delivery_manager,
        status=ProjectStatus.PLANNED,
        start_date=opp.service_start,
        end_date=opp.service_end,
        currency=opp.currency,
        budget_hours=budget_hours,
        budget_amount=opp.amount,
        template=template,
    )
    ProjectHistory.objects.create(project=project, by=by, from_status="", to_status=project.status, note="Won deal")
    contract = Contract.objects.create(
        number=f"C-{opp.pk:05d}",
        account=opp.account,
        opportunity=opp,
        project=project,
        entity_id=entity_id,
        currency=opp.currency,
        payment_terms_days=opp.payment_terms_days,
        start_date=opp.service_start,
        end_date=opp.service_end,
        created_by=by,
    )
    rate_card = RateCard.objects.filter(currency=opp.currency, is_default=True).first()
    contract_lines = ContractLine.objects.bulk_create(
        [
            ContractLine(
                contract=contract,
                position=line.position,
                description=line.description,
                billing_model=line.billing_model,
                hours=line.hours or ZERO,
                rate=line.rate,
                price=line.amount,
                cap=line.cap,
                rate_card=rate_card if line.billing_model == BillingModel.TIME_AND_MATERIALS else None,
                start_date=opp.service_start,
                end_date=opp.service_end,
                source_line=line,
            )
            for line in lines
        ]
    )
    by_source = {cl.source_line_id: cl for cl in contract_lines}

    task_templates = list(template.task_templates.all())
    shares = [Decimal(t.share_percent) for t in task_templates]
    task_hours = allocate(budget_hours, shares) if budget_hours and sum(shares) else [ZERO] * len(task_templates)
    Task.objects.bulk_create(
        [
            Task(project=project, name=t.name, order=t.order, budget_hours=h)
            for t, h in zip(task_templates, task_hours, strict=True)
        ]
    )
    milestones = [
        Milestone(project=project, contract_line=by_source[line.pk], name=m.name, amount=m.amount, due_date=m.due_date)
        for line in lines
        for m in line.milestones.all()
    ]
    for mt in template.milestone_templates.all():
        due = min(opp.service_start + timedelta(days=mt.offset_days), opp.service_end)
        milestones.append(Milestone(project=project, name=mt.name, amount=ZERO, due_date=due))
    Milestone.objects.bulk_create(milestones)
    ResourceRequest.objects.bulk_create(
        [
            ResourceRequest(
                project=project,
                role_id=d.role_id,
                hours=d.hours,
                start_date=d.start_date,
                end_date=d.end_date,
                source_demand=d,
            )
            for d in demands
        ]
    )
    crm_services.opportunity_mark_won(opportunity=opp, by=by)
    # The deal's correlation id ("opp-<id>") follows it to the invoices and payments, each passing it down.
    event_emit(
        type="opportunity.won",
        key=f"opportunity.won:{opp.pk}",
        correlation_id=correlation_id_for_deal([opp.pk]),
        data={"id": opp.pk, "account_id": opp.account_id, "amount": str(opp.amount), "contract_id": contract.pk},
    )
    event_emit(
        type="project.created",
        key=f"project.created:{project.pk}",
        correlation_id=correlation_id_for_deal([opp.pk]),
        data={"id": project.pk, "code": project.code, "account_id": project.account_id, "opportunity_id": opp.pk},
    )
    audit_record(
        actor=by,
        action="projects.handoff",
        obj=contract,
        summary=f"Won {opp.name}: contract {contract.number}, project {project.code}",
        data={"opportunity": opp.pk, "project": project.pk, "lines": len(contract_lines), "requests": len(demands)},
    )
    return WinResult(contract=contract, project=project, created=True)
