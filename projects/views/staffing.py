"""Staffing pages: find consultants for a resource request (role, skill, free hours) and allocate them;
the capacity heatmap per consultant and week and per role against pipeline-weighted demand; utilization per
consultant, role and month with targets and a chart."""

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from crm.models import DeliveryRole
from crm.selectors import demand_drivers
from projects.models import ResourceRequest, Skill
from projects.selectors import (
    capacity_heatmap,
    consultant_search,
    request_remaining,
    role_bench_vs_demand,
    staffing_suggestions,
    utilization,
)
from projects.services import staffing as staffing_services
from psa.core.dates import date_param, parse_date, week_start
from psa.core.exceptions import DomainError, ValidationFailed
from psa.core.pagecache import shared_result, wrote_recently
from psa.core.redirects import safe_next
from psa.core.roles import Role, role_required

STAFF_ROLES = (Role.PROJECT_MANAGER, Role.ADMIN)
UTIL_ROLES = (Role.PROJECT_MANAGER, Role.FINANCE, Role.ADMIN)
# People per page of the heatmap (500 consultants x 12 weeks rendered at once was 6,000 cells).
HEATMAP_PAGE_SIZE = 50


def _posted_date(data, name: str) -> date:
    """A posted date (today when empty); one out of range is refused naming it (psa.core.dates)."""
    return parse_date(data[name], field=name) if data.get(name) else date.today()


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


@role_required(*STAFF_ROLES)
def staffing(request):
    g = request.GET
    rr = None
    if _int(g.get("request")):
        rr = ResourceRequest.objects.select_related("project", "role").filter(pk=_int(g.get("request"))).first()
    today = date.today()
    start = date_param(request, "start", rr.start_date if rr else today)
    end = date_param(request, "end", rr.end_date if rr else today + timedelta(days=27))
    role_id = _int(g.get("role")) or (rr.role_id if rr else None)
    skill_id = _int(g.get("skill"))
    try:
        min_free = Decimal(g["min_free"]) if g.get("min_free") else None
    except InvalidOperation:
        min_free = None
    min_level = _int(g.get("min_level")) or 1
    if rr:  # capacity-aware: each candidate's suggestion fits their free hours, best fit first
        candidates = staffing_suggestions(
            request_id=rr.pk, start=start, end=end, skill_id=skill_id, min_level=min_level, role_id=role_id
        )
        if min_free is not None:
            candidates = [c for c in candidates if c.free >= min_free]
    else:
        candidates = consultant_search(
            role_id=role_id, start=start, end=end, skill_id=skill_id, min_level=min_level, min_free_hours=min_free
        )
    open_requests = list(
        ResourceRequest.objects.filter(status="open")
        .select_related("project", "role")
        .order_by("start_date", "id")[:50]
    )
    remaining = request_remaining([r.pk for r in open_requests] + ([rr.pk] if rr else []))
    return render(
        request,
        "projects/staffing.html",
        {
            "rr": rr, "start": start, "end": end, "role_id": role_id, "skill_id": skill_id, "min_free": min_free,
            "min_level": _int(g.get("min_level")) or 1, "candidates": candidates, "roles": DeliveryRole.objects.all(),
            "skills": Skill.objects.all(),
            "open_requests": [(r, remaining.get(r.pk)) for r in open_requests],
            "rr_remaining": remaining.get(rr.pk) if rr else None, "suggested": Decimal("20"),
        },
    )  # fmt: skip


@role_required(*STAFF_ROLES)
@require_POST
def allocate(request):
    """Allocate from the staffing page. An over-booking is not refused outright: the page asks, showing why,
    and the same form posted again with `confirm_overbooking` books it (and records the over-booking)."""
    p = request.POST
    back = safe_next(request, "projects:staffing")
    try:
        rr_id = _int(p.get("request"))
        rr = ResourceRequest.objects.filter(pk=rr_id).first() if rr_id else None
        project_id = rr.project_id if rr else _int(p.get("project"))
        allocation = staffing_services.allocation_create(
            by=request.user, project_id=project_id or 0, consultant_id=_int(p.get("consultant")) or 0,
            hours_per_week=p.get("hours_per_week") or "0", start_date=_posted_date(p, "start"),
            end_date=_posted_date(p, "end"), kind=p.get("kind") or "soft", resource_request_id=rr_id,
            confirm_overbooking=p.get("confirm_overbooking") in ("1", "true", "on"),
        )  # fmt: skip
        over = " — over-booked, as confirmed" if allocation.overbooked else ""
        messages.success(request, f"Allocated {allocation.consultant} ({allocation.get_kind_display().lower()}){over}.")
    except DomainError as exc:
        if exc.code == "overbooking":
            fields = [(k, v) for k, v in p.items() if k not in ("csrfmiddlewaretoken", "confirm_overbooking")]
            return render(
                request, "projects/allocate_confirm.html", {"question": exc.message, "fields": fields, "back": back}
            )
        messages.error(request, exc.message)
    except (InvalidOperation, ValueError):
        messages.error(request, "Hours per week must be a number.")
    return redirect(back)


@role_required(*STAFF_ROLES)
def heatmap(request):
    """The role bench against demand (every consultant counts) and the per-person heatmap a page of people at
    a time; the capacity matrix behind both is computed once."""
    start = week_start(date_param(request, "start", date.today()))
    page = request.GET.get("page", "")
    page = page if page.isdigit() and len(page) < 7 else "1"  # the cache key holds a page number, nothing else

    def tables() -> tuple[str, int, list]:
        """Both tables' HTML for this start week and page, how many consultants there are, and the role bench."""
        heat = capacity_heatmap(start=start, weeks=12)
        _weeks, roles = role_bench_vs_demand(start=start, weeks=12, heat=heat)
        weeks, rows = heat
        page_obj = Paginator(rows, HEATMAP_PAGE_SIZE).get_page(page)
        html = render_to_string("projects/_heatmap_tables.html", {"weeks": weeks, "rows": page_obj, "roles": roles})
        return html, len(rows), roles

    # the same for every reader: rendered once per PSA_PAGE_CACHE_SECONDS (psa.core.pagecache)
    shared = shared_result(
        f"heatmap:{start.isoformat()}:{HEATMAP_PAGE_SIZE}:{page}", tables, fresh=wrote_recently(request)
    )
    html, count, roles = shared.value
    page_obj = Paginator(range(count), HEATMAP_PAGE_SIZE).get_page(page)
    tables_html = mark_safe(html)  # noqa: S308 (rendered by the template above, autoescaped there)
    return render(
        request,
        "projects/heatmap.html",
        {"tables": tables_html, "page_obj": page_obj, "roles": roles, "start": start,
         "prev": start - timedelta(weeks=12), "next": start + timedelta(weeks=12),
         "computed_at": shared.as_of, "cache_seconds": shared.seconds},
    )  # fmt: skip


@role_required(*STAFF_ROLES)
def heatmap_drivers(request):
    """The open deals behind one role's weighted demand in one week (a fragment under the heatmap)."""
    role_name = request.GET.get("role", "")
    week = week_start(date_param(request, "week", date.today()))
    drivers = demand_drivers(role_name=role_name, week=week)
    _weeks, roles = role_bench_vs_demand(start=week, weeks=1)
    cell = next((r["cells"][0] for r in roles if r["role"] == role_name), None)
    return render(
        request,
        "projects/_demand_drivers.html",
        {"role": role_name, "week": week, "drivers": drivers, "cell": cell},
    )


@role_required(*UTIL_ROLES)
def utilization_page(request):
    today = date.today()
    start = date_param(request, "start", (today.replace(day=1) - timedelta(days=60)).replace(day=1))
    end = date_param(request, "end", today)
    by = request.GET.get("by") if request.GET.get("by") in ("consultant", "role", "month") else "consultant"
    rows = utilization(start=start, end=end, by=by)
    chart = {
        "id": "utilization-chart",
        "type": "bar",
        "data": {
            "labels": [r.label for r in rows],
            "datasets": [
                {"label": "Billable %", "data": [r.utilization for r in rows], "backgroundColor": "#198754",
                 "stack": "u"},
                {"label": "Non-billable %", "data": [r.total_utilization - r.utilization for r in rows],
                 "backgroundColor": "#adb5bd", "stack": "u"},
                {"label": "Target %", "data": [r.target for r in rows], "type": "line",
                 "borderColor": "#dc3545", "backgroundColor": "#dc3545", "pointStyle": "line",
                 "pointRadius": 18, "pointBorderWidth": 3, "showLine": False},
            ],
        },
        "options": {"scales": {"x": {"stacked": True}, "y": {"stacked": True, "suggestedMax": 100}}},
    }  # fmt: skip
    return render(
        request, "projects/utilization.html", {"rows": rows, "by": by, "start": start, "end": end, "chart": chart}
    )


def _end_date(raw: str | None):
    """The team panel's end date: a date in range, else the panel's one message (a ValueError)."""
    try:
        return parse_date(raw or "", field="end_date")
    except ValidationFailed as exc:
        raise ValueError("end") from exc


@role_required(*STAFF_ROLES)
@require_POST
def allocation_change(request, pk: int, allocation_pk: int):
    """Change (hours per week, end date, kind) or remove an allocation from the project page's team panel."""
    p = request.POST
    back = f"{reverse('projects:project', args=[pk])}#team"
    try:
        if p.get("action") == "remove":
            staffing_services.allocation_remove(by=request.user, allocation_id=allocation_pk)
            messages.success(request, "Removed the allocation.")
        else:
            end = _end_date(p.get("end_date"))
            allocation = staffing_services.allocation_update(
                by=request.user, allocation_id=allocation_pk, hours_per_week=p.get("hours_per_week") or "0",
                end_date=end, kind=p.get("kind") or "soft",
            )  # fmt: skip
            messages.success(request, f"Changed {allocation.consultant}'s allocation.")
    except DomainError as exc:
        messages.error(request, exc.message)
    except (InvalidOperation, ValueError):
        messages.error(request, "Hours per week must be a number and the end a date (YYYY-MM-DD).")
    return redirect(back)
