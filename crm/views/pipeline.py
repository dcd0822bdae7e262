"""The pipeline: board (moves over HTMX), list with filters, opportunity create/edit/detail, lines, role
demand, milestones, lose and reopen. Winning is a projects view (the handoff lives there)."""

import hashlib

from django.contrib import messages
from django.core.exceptions import EmptyResultSet, PermissionDenied
from django.http import HttpResponseNotAllowed, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from crm import selectors, services
from crm.choices import OpportunityStatus
from crm.filtersets import OpportunityFilter
from crm.forms import (
    LineMilestoneForm,
    LoseForm,
    OpportunityForm,
    OpportunityInlineForm,
    OpportunityLineForm,
    RoleDemandForm,
)
from crm.models import Opportunity, Stage
from crm.permissions import EDIT_ROLES, VIEW_ROLES, import_kinds, is_sales_manager, may_change_deal
from crm.services.credit import CREDIT_ROLES, active_hold
from crm.views._common import call_service, flash_error
from psa.core.exceptions import DomainError
from psa.core.listing import paginate_sorted
from psa.core.pagecache import Shared, shared_result, wrote_recently
from psa.core.redirects import safe_next
from psa.core.roles import has_role, role_required

SORT_FIELDS = {
    "name": "name",
    "account": "account__name",
    "owner": "owner__username",
    "stage": "stage__order",
    "amount": "amount",
    "probability": "probability",
    "close": "expected_close_date",
}


def _board_context(request, error: str = "") -> dict:
    filterset = OpportunityFilter(request.GET or None, queryset=selectors.opportunity_list(request.user))
    queryset = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
    shared = _shared_totals(request, queryset)
    totals = shared.value if shared is not None else None
    columns = selectors.board(queryset, totals=totals)  # type: ignore[arg-type]  # stubs: queryset may be None
    for i, col in enumerate(columns):  # the stages a card can step back and on to
        col.prev = columns[i - 1].stage if i else None
        col.next = columns[i + 1].stage if i + 1 < len(columns) else None
    return {
        "filter": filterset,
        "columns": columns,
        "manager": is_sales_manager(request.user),
        "can_edit": may_edit(request.user),
        "error": error,
        "computed_at": shared.as_of if shared is not None else None,
        "cache_seconds": shared.seconds if shared is not None else 0,
        "query": request.GET.urlencode(),
        "can_import": bool(import_kinds(request.user)),
    }


def _shared_totals(request, queryset) -> Shared[selectors.BoardTotals] | None:
    """The columns' totals (every open deal the reader may see, per stage and currency: a sum over all of them),
    computed once per PSA_PAGE_CACHE_SECONDS for every reader whose scope and filters give the same query
    (psa.core.pagecache), afresh for a move (the POST) and for a user who just wrote (wrote_recently). None when
    the filters match nothing by construction (no query to key on); the board then computes them itself."""
    try:
        sql, params = selectors.board_totals_query(queryset).query.sql_with_params()
    except EmptyResultSet:
        return None
    key = "crm-board:" + hashlib.sha256(repr((sql, params)).encode()).hexdigest()
    return shared_result(key, lambda: selectors.board_totals(queryset), fresh=wrote_recently(request))


def may_edit(user) -> bool:
    return has_role(user, *EDIT_ROLES)


@role_required(*VIEW_ROLES)
def board(request):
    context = _board_context(request)
    if request.htmx and request.htmx.target == "board":
        return render(request, "crm/_board.html", context)
    return render(request, "crm/board.html", context)


@role_required(*EDIT_ROLES)
@require_POST
def opportunity_move(request, pk: int):
    """Move a card to another stage. HTMX gets the board back (with the refusal, if any, and its status)."""
    status, error = 200, ""
    try:
        stage_id = int(request.POST.get("stage", ""))
        services.opportunity_move(opportunity_id=pk, stage_id=stage_id, by=request.user)
    except ValueError:
        status, error = 400, "Choose a stage to move the deal to."
    except DomainError as exc:
        status, error = exc.status, exc.message
    if request.htmx:
        request.GET = request.GET.copy()
        request.GET.update(_query_from(request))
        return render(request, "crm/_board.html", _board_context(request, error=error), status=status)
    if error:
        messages.error(request, error)
    return redirect(safe_next(request, reverse("crm:opportunity", args=[pk])))


def _query_from(request):
    return QueryDict(request.POST.get("query", ""))


@role_required(*VIEW_ROLES)
def opportunity_list(request):
    filterset = OpportunityFilter(request.GET or None, queryset=selectors.opportunity_list(request.user))
    queryset = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
    page_obj, sort = paginate_sorted(request, queryset, sort_fields=SORT_FIELDS, default_sort="close")
    return render(
        request,
        "crm/opportunity_list.html",
        {
            "filter": filterset,
            "page_obj": page_obj,
            "sort": sort,
            "can_edit": may_edit(request.user),
            "manager": is_sales_manager(request.user),
            "can_import": bool(import_kinds(request.user)),
        },
    )


@role_required(*EDIT_ROLES)
def opportunity_inline(request, pk: int):
    """The list's inline edit of one row (HTMX): GET the row as a form (or, with `cancel`, as it was); POST saves
    through the same service as the edit page and answers the row, or the form with its errors inline (400)."""
    opp = get_object_or_404(selectors.opportunity_list(request.user), pk=pk)
    if not may_change_deal(request.user, opp) or opp.status != OpportunityStatus.OPEN:
        raise PermissionDenied("Only the owner or a sales manager may edit an open deal.")
    row = {"opp": opp, "can_edit": True, "manager": is_sales_manager(request.user)}
    if request.method == "GET":
        if request.GET.get("cancel"):
            return render(request, "crm/_opportunity_row.html", row)
        return render(request, "crm/_opportunity_row_form.html", row | {"form": OpportunityInlineForm(instance=opp)})
    if request.method != "POST":
        return HttpResponseNotAllowed(["GET", "POST"])
    form = OpportunityInlineForm(request.POST, instance=Opportunity.objects.get(pk=pk))
    if form.is_valid() and call_service(
        form, services.opportunity_update, opportunity_id=pk, by=request.user, **form.cleaned_data
    ):
        return render(
            request, "crm/_opportunity_row.html", row | {"opp": selectors.opportunity_list(request.user).get(pk=pk)}
        )
    return render(request, "crm/_opportunity_row_form.html", row | {"form": form}, status=400)


@role_required(*EDIT_ROLES)
def opportunity_create(request):
    manager = is_sales_manager(request.user)
    initial = {}
    if request.GET.get("account"):
        initial["account"] = request.GET["account"]
    form = OpportunityForm(request.POST or None, manager=manager, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["owner"] = data.get("owner") or request.user
        if data.get("payment_terms_days") is None:
            data.pop("payment_terms_days")
        opp = call_service(
            form,
            services.opportunity_create,
            by=request.user,
            **{k: v for k, v in data.items() if v not in ("",) or k in ("notes",)},
        )
        if opp is not None:
            messages.success(request, f"Opened “{opp.name}”. Add its lines and role demand below.")
            return redirect("crm:opportunity", pk=opp.pk)
    return render(request, "crm/opportunity_form.html", {"form": form, "title": "New opportunity"})


@role_required(*EDIT_ROLES)
def opportunity_edit(request, pk: int):
    opp = get_object_or_404(Opportunity.objects.select_related("account", "owner", "stage"), pk=pk)
    if not may_change_deal(request.user, opp):
        messages.error(request, "Only the owner or a sales manager may edit this deal.")
        return redirect("crm:opportunity", pk=pk)
    manager = is_sales_manager(request.user)
    form = OpportunityForm(request.POST or None, instance=opp, manager=manager, editing=True)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        if data.get("probability") is None:
            data["probability"] = opp.stage.default_probability
        if not data.get("currency"):
            data["currency"] = data["account"].currency
        if not manager:
            data.pop("owner", None)
        opp.refresh_from_db()
        if call_service(form, services.opportunity_update, opportunity_id=pk, by=request.user, **data):
            messages.success(request, "Saved.")
            return redirect("crm:opportunity", pk=pk)
    return render(request, "crm/opportunity_form.html", {"form": form, "title": f"Edit {opp.name}", "opp": opp})


def _detail_context(request, pk: int) -> dict:
    opp = get_object_or_404(
        selectors.opportunities_for(request.user).select_related(
            "account", "owner", "stage", "delivery_manager", "contract__project"
        ),
        pk=pk,
    )
    lines = list(opp.lines.prefetch_related("milestones", "role_demands__role"))
    history = opp.history.select_related("by", "from_stage", "to_stage").order_by("-at", "-id")
    can_change = may_change_deal(request.user, opp) and opp.status == OpportunityStatus.OPEN
    missing = selectors.win_missing_fields(opp) if opp.status == OpportunityStatus.OPEN else {}
    stages = list(Stage.objects.filter(kind="open", is_active=True).order_by("order"))
    hold = active_hold(opp.account_id)
    return {
        "opp": opp,
        "lines": lines,
        "history": history,
        "can_change": can_change,
        "can_reopen": may_change_deal(request.user, opp) and opp.status == OpportunityStatus.LOST,
        "missing": missing,
        "stages": stages,
        "line_form": OpportunityLineForm(prefix="line"),
        "demand_form": RoleDemandForm(prefix="demand", opportunity=opp) if lines else None,
        "milestone_form": LineMilestoneForm(prefix="ms", opportunity=opp)
        if any(line.billing_model == "milestone" for line in lines)
        else None,
        "lose_form": LoseForm(),
        "contract": getattr(opp, "contract", None) if opp.status == OpportunityStatus.WON else None,
        "hold": hold,
        "credit_approved": hold is not None and opp.credit_approved_hold_id == hold.pk,
        "can_approve_credit": has_role(request.user, *CREDIT_ROLES) and opp.status == OpportunityStatus.OPEN,
    }


@role_required(*VIEW_ROLES)
def opportunity_detail(request, pk: int):
    return render(request, "crm/opportunity_detail.html", _detail_context(request, pk))


def _rerender(request, pk: int, **forms):
    """The opportunity page with a bound form showing its inline errors (status 400)."""
    context = _detail_context(request, pk)
    context.update(forms)
    return render(request, "crm/opportunity_detail.html", context, status=400)


@role_required(*EDIT_ROLES)
@require_POST
def line_add(request, pk: int):
    form = OpportunityLineForm(request.POST, prefix="line")
    if form.is_valid():
        data = {k: v for k, v in form.cleaned_data.items() if v is not None}
        if call_service(form, services.opportunity_line_add, opportunity_id=pk, by=request.user, **data):
            messages.success(request, f"Added the line “{form.cleaned_data['description']}”.")
            return redirect(f"{reverse('crm:opportunity', args=[pk])}#lines")
    return _rerender(request, pk, line_form=form)


@role_required(*EDIT_ROLES)
@require_POST
def line_remove(request, pk: int, line_pk: int):
    try:
        services.opportunity_line_remove(line_id=line_pk, by=request.user)
        messages.success(request, "Removed the line.")
    except DomainError as exc:
        flash_error(request, exc)
    return redirect(f"{reverse('crm:opportunity', args=[pk])}#lines")


@role_required(*EDIT_ROLES)
@require_POST
def demand_add(request, pk: int):
    opp = get_object_or_404(Opportunity, pk=pk)
    form = RoleDemandForm(request.POST, prefix="demand", opportunity=opp)
    if form.is_valid():
        data = dict(form.cleaned_data)
        line = data.pop("line")
        if call_service(form, services.role_demand_add, line_id=line.pk, by=request.user, **data):
            messages.success(request, f"Added {data['hours']} h of {data['role']}.")
            return redirect(f"{reverse('crm:opportunity', args=[pk])}#demand")
    return _rerender(request, pk, demand_form=form)


@role_required(*EDIT_ROLES)
@require_POST
def demand_remove(request, pk: int, demand_pk: int):
    try:
        services.role_demand_remove(demand_id=demand_pk, by=request.user)
        messages.success(request, "Removed the role demand.")
    except DomainError as exc:
        flash_error(request, exc)
    return redirect(f"{reverse('crm:opportunity', args=[pk])}#demand")


@role_required(*EDIT_ROLES)
@require_POST
def milestone_add(request, pk: int):
    opp = get_object_or_404(Opportunity, pk=pk)
    form = LineMilestoneForm(request.POST, prefix="ms", opportunity=opp)
    if form.is_valid():
        data = dict(form.cleaned_data)
        line = data.pop("line")
        if call_service(form, services.line_milestone_add, line_id=line.pk, by=request.user, **data):
            messages.success(request, f"Added the milestone “{data['name']}”.")
            return redirect(f"{reverse('crm:opportunity', args=[pk])}#lines")
    return _rerender(request, pk, milestone_form=form)


@role_required(*EDIT_ROLES)
@require_POST
def opportunity_lose(request, pk: int):
    form = LoseForm(request.POST)
    form.is_valid()
    try:
        opp = services.opportunity_lose(opportunity_id=pk, by=request.user, reason=form.cleaned_data.get("reason", ""))
        messages.success(request, f"Marked “{opp.name}” as lost.")
    except DomainError as exc:
        flash_error(request, exc)
        return redirect("crm:opportunity", pk=pk)
    # from the board's Lost column: back to the board; from the deal's page: the deal
    return redirect(safe_next(request, reverse("crm:opportunity", args=[pk])))


@role_required(*EDIT_ROLES)
def opportunity_reopen(request, pk: int):
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    try:
        services.opportunity_reopen(opportunity_id=pk, by=request.user)
        messages.success(request, "Reopened the deal.")
    except DomainError as exc:
        flash_error(request, exc)
    return redirect("crm:opportunity", pk=pk)
