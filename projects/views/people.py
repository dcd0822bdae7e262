"""People pages: resource managers (project managers, administrators) add and edit consultants — sign-in,
delivery role, capacity, target, employing entity, vendor for a subcontractor, skills; finance and
administrators see and set the dated cost rates. Nobody else sees a cost rate (DESIGN.md 5.10)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from projects.filtersets import PersonFilter
from projects.forms import CostRateForm, PersonForm
from projects.selectors.people import cost_rates_of, people
from projects.selectors.staffing import CONSULTANT_NAME
from projects.services import people as people_services
from projects.services import staffing as staffing_services
from psa.core.entities import entity_default
from psa.core.exceptions import DomainError
from psa.core.forms import form_apply_domain_error
from psa.core.listing import paginate_sorted
from psa.core.roles import COST_ROLES, Role, has_role, role_required

EDIT_ROLES = (Role.PROJECT_MANAGER, Role.ADMIN)
VIEW_ROLES = (Role.PROJECT_MANAGER, Role.FINANCE, Role.ADMIN)
SORT_FIELDS = {
    "name": "name",
    "role": "role__name",
    "entity": "entity__code",
    "capacity": "weekly_capacity",
    "target": "utilization_target",
}


def _person_values(form: PersonForm) -> dict:
    data = form.cleaned_data
    return {
        "role": data["role"],
        "weekly_capacity": data["weekly_capacity"],
        "utilization_target": data["utilization_target"],
        "entity": data["entity"],
        "vendor": data.get("vendor"),
        "skills": data["skills"],
    }


@role_required(*VIEW_ROLES)
def people_list(request):
    filterset = PersonFilter(
        request.GET or None, queryset=people(on=timezone.localdate()).annotate(name=CONSULTANT_NAME)
    )
    queryset = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
    page_obj, _sort = paginate_sorted(request, queryset, sort_fields=SORT_FIELDS, default_sort="name")
    return render(
        request,
        "projects/people_list.html",
        {
            "filter": filterset,
            "page_obj": page_obj,
            "can_edit": has_role(request.user, *EDIT_ROLES),
            "can_see_costs": has_role(request.user, *COST_ROLES),
        },
    )


@role_required(*EDIT_ROLES)
def person_new(request):
    form = PersonForm(request.POST or None, initial={"entity": entity_default()})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            consultant = people_services.person_create(
                by=request.user,
                username=data["username"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                **_person_values(form),
            )
        except DomainError as exc:
            form_apply_domain_error(form, exc)
        else:
            messages.success(request, f"{consultant} was added. They set a password through “Forgot password”.")
            return redirect("projects:person", consultant.pk)
    return render(request, "projects/person_form.html", {"form": form})


def _skills_text(consultant) -> str:
    return "\n".join(f"{s.skill.name}: {s.level}" for s in consultant.skills.select_related("skill"))


def _initial(consultant) -> dict:
    return {
        "role": consultant.role,
        "weekly_capacity": consultant.weekly_capacity,
        "utilization_target": consultant.utilization_target,
        "entity": consultant.entity,
        "vendor": consultant.vendor,
        "is_active": consultant.is_active,
        "skills": _skills_text(consultant),
    }


def _detail(request, consultant, *, form: PersonForm | None = None, rate_form: CostRateForm | None = None, status=200):
    can_see_costs = has_role(request.user, *COST_ROLES)
    return render(
        request,
        "projects/person_detail.html",
        {
            "person": consultant,
            "form": form or PersonForm(initial=_initial(consultant), editing=True),
            "can_edit": has_role(request.user, *EDIT_ROLES),
            "can_see_costs": can_see_costs,
            "cost_rates": cost_rates_of(consultant.pk) if can_see_costs else [],
            "rate_form": (rate_form or CostRateForm()) if can_see_costs else None,
            "skills": consultant.skills.select_related("skill").order_by("-level", "skill__name"),
        },
        status=status,
    )


@role_required(*VIEW_ROLES)
def person_detail(request, pk: int):
    consultant = get_object_or_404(people(on=timezone.localdate()), pk=pk)
    if request.method != "POST":
        return _detail(request, consultant)
    if not has_role(request.user, *EDIT_ROLES):
        raise PermissionDenied("Only project managers and administrators edit people.")
    form = PersonForm(request.POST, initial=_initial(consultant), editing=True)
    if form.is_valid():
        try:
            people_services.consultant_update(
                by=request.user,
                consultant_id=consultant.pk,
                is_active=form.cleaned_data["is_active"],
                **_person_values(form),
            )
        except DomainError as exc:
            form_apply_domain_error(form, exc)
        else:
            messages.success(request, f"{consultant} was saved.")
            return redirect("projects:person", consultant.pk)
    return _detail(request, consultant, form=form, status=400)


@require_POST
@role_required(*COST_ROLES)
def cost_rate_add(request, pk: int):
    consultant = get_object_or_404(people(on=timezone.localdate()), pk=pk)
    form = CostRateForm(request.POST)
    if form.is_valid():
        try:
            staffing_services.cost_rate_set(
                by=request.user,
                consultant_id=consultant.pk,
                rate=form.cleaned_data["rate"],
                valid_from=form.cleaned_data["valid_from"],
            )
        except DomainError as exc:
            form_apply_domain_error(form, exc)
        else:
            messages.success(request, f"The cost rate from {form.cleaned_data['valid_from']:%d %b %Y} was set.")
            return redirect("projects:person", consultant.pk)
    return _detail(request, consultant, rate_form=form, status=400)
