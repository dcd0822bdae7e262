"""Engagement pages: the win (handoff) action, project list and page, milestone and status moves, change
orders, and the account page's projects fragment."""

from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from crm.permissions import EDIT_ROLES as PIPELINE_EDIT_ROLES
from projects import services
from projects.choices import PROJECT_TRANSITIONS, ChangeOrderStatus, MilestoneStatus, ProjectStatus
from projects.filtersets import ProjectFilter
from projects.forms import ChangeOrderForm, RejectForm
from projects.models import ChangeOrder, Contract, Project
from projects.permissions import PM_ROLES, RATE_VIEW_ROLES, VIEW_ROLES
from projects.selectors import request_remaining
from projects.selectors.budget import budget_vs_actual, with_burn
from projects.services.engagement import CO_DECIDE_ROLES, CO_REQUEST_ROLES
from psa.core.exceptions import DomainError
from psa.core.forms import error_text, form_apply_domain_error
from psa.core.listing import paginate_sorted
from psa.core.roles import COST_ROLES, Role, has_role, role_required

SORT_FIELDS = {
    "code": "code",
    "name": "name",
    "account": "account__name",
    "status": "status",
    "start": "start_date",
    "end": "end_date",
    "budget": "budget_amount",
    "hours": "budget_hours",
    "burned": "burned_rank",  # percent of budget hours approved to date
    "burning": "burning_rank",  # percent of budget hours approved in the last weeks: who is burning fastest
}


def _flash(request, exc: DomainError) -> None:
    messages.error(request, error_text(exc))


@role_required(*PIPELINE_EDIT_ROLES)
@require_POST
def opportunity_win(request, pk: int):
    """Win a deal: on success open the new project; on refusal back to the deal with every missing field."""
    try:
        result = services.opportunity_win(opportunity_id=pk, by=request.user)
    except DomainError as exc:
        _flash(request, exc)
        return redirect("crm:opportunity", pk=pk)
    if result.created:
        messages.success(
            request, f"Won. Contract {result.contract.number} and project {result.project.code} are ready."
        )
    else:
        messages.info(request, f"Already won: contract {result.contract.number}, project {result.project.code}.")
    return redirect("projects:project", pk=result.project.pk)


def _projects():
    return Project.objects.select_related("account", "project_manager", "entity").annotate(
        open_requests=Count("resource_requests", filter=Q(resource_requests__status="open"), distinct=True)
    )


@role_required(*VIEW_ROLES)
def project_list(request):
    today = timezone.localdate()
    filterset = ProjectFilter(request.GET or None, queryset=with_burn(_projects(), as_of=today))
    queryset = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
    page_obj, _sort = paginate_sorted(request, queryset, sort_fields=SORT_FIELDS, default_sort="-start")
    # The page's budget figures: a fixed number of queries (forecasts here are by run-rate; the PM's estimate
    # shows on the project page, which the ledger serves).
    budgets = budget_vs_actual(project_ids=[p.pk for p in page_obj], as_of=today)
    for p in page_obj:
        p.burn = budgets[p.pk].figures
    return render(request, "projects/project_list.html", {"filter": filterset, "page_obj": page_obj})


@role_required(*VIEW_ROLES)
def project_detail(request, pk: int):
    return _project_page(request, pk)


def _project_page(request, pk: int, *, co_form: ChangeOrderForm | None = None, status: int = 200):
    """The project page; `co_form` is a change order the user sent back with its errors and what they typed."""
    project = get_object_or_404(
        Project.objects.select_related("account", "project_manager", "template", "entity"), pk=pk
    )
    contract = (
        Contract.objects.select_related("opportunity", "entity")
        .prefetch_related("lines__rate_card")
        .filter(project=project)
        .first()
    )
    change_orders = (
        ChangeOrder.objects.filter(contract__project=project)
        .select_related("requested_by", "decided_by", "contract")
        .prefetch_related("lines__contract_line")
        .order_by("-number")
    )
    requests = list(project.resource_requests.select_related("role"))
    remaining = request_remaining([r.pk for r in requests])
    return render(
        request,
        "projects/project_detail.html",
        {
            "project": project,
            "contract": contract,
            "tasks": project.tasks.all(),
            "milestones": project.milestones.select_related("contract_line"),
            "requests": [(r, remaining.get(r.pk)) for r in requests],
            "team": project.allocations.select_related(
                "consultant__user", "consultant__role", "consultant__entity"
            ).order_by("start_date", "id"),
            "change_orders": change_orders,
            "history": project.history.select_related("by").order_by("-at", "-id"),
            "is_pm": has_role(request.user, *PM_ROLES),
            # The contract's change history shows rates: only for the roles that may see them.
            "can_see_rates": has_role(request.user, *RATE_VIEW_ROLES),
            "can_see_costs": has_role(request.user, *COST_ROLES),  # the margins panel (ledger)
            "can_request_co": has_role(request.user, *CO_REQUEST_ROLES) and contract is not None,
            "can_decide_co": has_role(request.user, *CO_DECIDE_ROLES),
            "next_statuses": _next_statuses(project.status),
            "MilestoneStatus": MilestoneStatus,
            "co_form": co_form or (ChangeOrderForm(contract=contract, prefix="co") if contract else None),
            "reject_form": RejectForm(),
        },
        status=status,
    )


def _next_statuses(status: str) -> list[tuple[str, str]]:
    verbs: dict[str, str] = {
        ProjectStatus.ACTIVE: "Start" if status == ProjectStatus.PLANNED else "Resume",
        ProjectStatus.ON_HOLD: "Put on hold",
        ProjectStatus.COMPLETED: "Complete",
        ProjectStatus.CANCELLED: "Cancel project",
    }
    return [(s, verbs.get(s, ProjectStatus(s).label)) for s in PROJECT_TRANSITIONS.get(status, ())]


@role_required(*PM_ROLES)
@require_POST
def project_status(request, pk: int):
    try:
        project = services.project_transition(project_id=pk, to_status=request.POST.get("status", ""), by=request.user)
        messages.success(request, f"{project.code} is now {project.get_status_display().lower()}.")
    except DomainError as exc:
        _flash(request, exc)
    return redirect("projects:project", pk=pk)


@role_required(*PM_ROLES, Role.FINANCE)
@require_POST
def project_alert_levels(request, pk: int):
    try:
        project = services.project_alert_levels_set(
            project_id=pk,
            warning=request.POST.get("alert_warning_percent", ""),
            over=request.POST.get("alert_over_percent", ""),
            by=request.user,
        )
        messages.success(
            request,
            f"Budget alerts for {project.code} at {project.alert_warning_percent} % and "
            f"{project.alert_over_percent} %; they take effect at the next check (within five minutes).",
        )
    except DomainError as exc:
        _flash(request, exc)
    return redirect("projects:project", pk=pk)


@role_required(*PM_ROLES)
@require_POST
def milestone_move(request, pk: int, milestone_pk: int, action: str):
    fn = {"achieve": services.milestone_achieve, "accept": services.milestone_accept}.get(action)
    if fn is None:
        messages.error(request, "Unknown milestone action.")
        return redirect("projects:project", pk=pk)
    try:
        milestone = fn(milestone_id=milestone_pk, by=request.user)
        messages.success(request, f"{milestone.name}: {milestone.get_status_display().lower()}.")
    except DomainError as exc:
        _flash(request, exc)
    return redirect(f"/projects/{pk}/#milestones")


@role_required(*CO_REQUEST_ROLES)
@require_POST
def change_order_create(request, pk: int):
    project = get_object_or_404(Project, pk=pk)
    contract = Contract.objects.filter(project=project).first()
    if contract is None:
        messages.error(request, "This project has no contract to change.")
        return redirect("projects:project", pk=pk)
    form = ChangeOrderForm(request.POST, contract=contract, prefix="co")
    if form.is_valid():
        try:
            co = services.change_order_create(
                contract_id=contract.pk,
                by=request.user,
                title=form.cleaned_data["title"],
                reason=form.cleaned_data["reason"],
                lines=[form.change_spec()],
            )
            messages.success(request, f"Drafted change order CO-{co.number}.")
            return redirect(f"/projects/{pk}/#change-orders")
        except DomainError as exc:
            form_apply_domain_error(form, exc)
    # Back to the page with the form open, what the user typed kept and each error under its field.
    return _project_page(request, pk, co_form=form, status=400)


@role_required(*CO_REQUEST_ROLES, *CO_DECIDE_ROLES)
@require_POST
def change_order_move(request, pk: int, co_pk: int, action: str):
    try:
        if action == "submit":
            services.change_order_submit(change_order_id=co_pk, by=request.user)
        elif action == "approve":
            services.change_order_approve(change_order_id=co_pk, by=request.user)
        elif action == "reject":
            services.change_order_reject(change_order_id=co_pk, by=request.user, note=request.POST.get("note", ""))
        else:
            messages.error(request, "Unknown change-order action.")
            return redirect("projects:project", pk=pk)
        status = ChangeOrder.objects.values_list("status", flat=True).get(pk=co_pk)
        messages.success(request, f"Change order {ChangeOrderStatus(status).label.lower()}.")
    except DomainError as exc:
        _flash(request, exc)
    return redirect(f"/projects/{pk}/#change-orders")


@role_required(*VIEW_ROLES)
def account_projects(request, pk: int):
    """Fragment for the crm account page (crm may not import projects, so it loads this over HTMX)."""
    projects = _projects().filter(account_id=pk).order_by("-start_date", "-id")[:50]
    return render(request, "projects/_account_projects.html", {"projects": projects, "account_id": pk})
