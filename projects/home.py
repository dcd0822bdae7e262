"""Home panel for project managers: the projects they run and the staffing still requested. Fixed queries."""

from django.db.models import Count, Q, Sum
from django.urls import reverse

from projects.choices import ProjectStatus, ResourceRequestStatus
from projects.models import Project, ResourceRequest
from psa.core.roles import Role, has_role
from psa.core.ui import Figure, Panel


def my_projects(user) -> Panel | None:
    if not has_role(user, Role.PROJECT_MANAGER):
        return None
    mine = Project.objects.filter(project_manager=user)
    stats = mine.aggregate(
        active=Count("id", filter=Q(status=ProjectStatus.ACTIVE)),
        planned=Count("id", filter=Q(status=ProjectStatus.PLANNED)),
    )
    requests = ResourceRequest.objects.filter(
        project__project_manager=user, status=ResourceRequestStatus.OPEN
    ).aggregate(n=Count("id"), hours=Sum("hours"))
    latest = mine.select_related("account").order_by("-created_at", "-id")[:5]
    url = reverse("projects:list")
    return Panel(
        title="My projects",
        figures=[
            Figure("Active", stats["active"], url=f"{url}?project_manager={user.pk}&status=active"),
            Figure("Planned", stats["planned"], url=f"{url}?project_manager={user.pk}&status=planned"),
            Figure("Open resource requests", requests["n"], hint=f"{requests['hours'] or 0} h to staff"),
        ],
        columns=["Project", "Account", "Status"],
        rows=[
            {
                "cells": [f"{p.code} {p.name}", p.account.name, p.get_status_display()],
                "url": reverse("projects:project", args=[p.pk]),
            }
            for p in latest
        ],
        empty="No projects yet: won deals that name you as delivery PM appear here.",
        width=6,
        order=20,
    )


PROVIDERS = [my_projects]

# Time panels (projects.home_time).
from projects.home_time import approvals_waiting, my_week  # noqa: E402

PROVIDERS += [my_week, approvals_waiting]
