"""The budget-against-actual panel the project page loads (HTMX): projects' figures with the forecast by the
PM's estimate where there is one (estimates are the ledger's), a burn bar, the tasks and contract lines, and a
weekly burn-down chart. Cost shows only to the roles that may see cost rates."""

import json

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from ledger.models import BudgetAlert
from ledger.selectors.budget import budget_with_estimates
from projects.models import Project
from projects.permissions import VIEW_ROLES
from projects.selectors.budget import weekly_burn
from psa.core.roles import COST_ROLES, Role, has_role, role_required


@role_required(*VIEW_ROLES)
def project_budget_panel(request: HttpRequest, pk: int) -> HttpResponse:
    project = get_object_or_404(
        Project.objects.only(
            "pk",
            "code",
            "currency",
            "budget_hours",
            "project_manager_id",
            "alert_warning_percent",
            "alert_over_percent",
        ),
        pk=pk,
    )
    today = timezone.localdate()
    budget = budget_with_estimates(project_ids=[project.pk], as_of=today)[project.pk]
    burn = weekly_burn(project_id=project.pk, as_of=today)
    chart = {
        "id": f"burn-chart-{project.pk}",
        "type": "line",
        "data": {
            "labels": [monday.isoformat() for monday, _ in burn],
            "datasets": [
                {"label": "Remaining budget hours", "data": [float(project.budget_hours - h) for _, h in burn],
                 "borderColor": "#243b6b", "backgroundColor": "#243b6b", "tension": 0},
                {"label": "Approved hours to date", "data": [float(h) for _, h in burn],
                 "borderColor": "#e0a458", "backgroundColor": "#e0a458", "tension": 0},
            ],
        },
        "options": {"plugins": {"legend": {"position": "bottom"}}, "scales": {"y": {"beginAtZero": True}}},
    }  # fmt: skip
    context = {
        "project": project,
        "b": budget,
        "f": budget.figures,
        "bar": min(budget.figures.percent_burned or 0, 100),
        "chart": chart,
        # on the canvas, not in a json_script tag: htmx drops script tags from the fragments it swaps in
        "chart_config": json.dumps(chart),
        "has_burn": bool(burn),
        "can_see_costs": has_role(request.user, *COST_ROLES),
        "as_of": today,
        "can_set_levels": has_role(request.user, Role.FINANCE, Role.ADMIN)
        or project.project_manager_id == request.user.pk,
        "alerts": list(BudgetAlert.objects.filter(project_id=project.pk, cleared_at__isnull=True).order_by("kind")),
    }
    return render(request, "ledger/_project_budget.html", context)
