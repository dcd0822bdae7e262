"""Home panels: for project managers the projects they run, the staffing still requested and the approvals
waiting; for consultants their week. Fixed query counts."""

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.urls import reverse

from projects.choices import EntryStatus, ProjectStatus, ResourceRequestStatus
from projects.models import Consultant, Expense, Project, ResourceRequest, TimeEntry
from projects.selectors.staffing import request_remaining
from psa.core.dates import week_start
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
    open_requests = list(
        ResourceRequest.objects.filter(project__project_manager=user, status=ResourceRequestStatus.OPEN).values_list(
            "pk", flat=True
        )
    )
    # Unfilled demand: what is still to staff after the allocations made from each request.
    unfilled = sum(request_remaining(open_requests).values(), Decimal(0))
    requests = {"n": len(open_requests), "hours": unfilled}
    latest = mine.select_related("account").order_by("-created_at", "-id")[:5]
    url = reverse("projects:list")
    return Panel(
        title="My projects",
        figures=[
            Figure("Active", stats["active"], url=f"{url}?project_manager={user.pk}&status=active"),
            Figure("Planned", stats["planned"], url=f"{url}?project_manager={user.pk}&status=planned"),
            Figure(
                "Open resource requests",
                requests["n"],
                hint=f"{requests['hours']:,.2f} h still to staff",
                url=reverse("projects:staffing"),
            ),
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


def my_week(user) -> Panel | None:
    if not has_role(user, Role.CONSULTANT) or has_role(user, Role.ADMIN):
        return None
    consultant = Consultant.objects.filter(user=user).first()
    if consultant is None:
        return None
    monday = week_start(date.today())
    week = TimeEntry.objects.filter(consultant=consultant, date__gte=monday - timedelta(days=7)).aggregate(
        this=Sum("hours", filter=Q(date__gte=monday)),
        last=Sum("hours", filter=Q(date__lt=monday)),
        rejected=Count("id", filter=Q(status=EntryStatus.REJECTED)),
    )
    url = reverse("projects:timesheet")
    return Panel(
        title="My timesheet",
        figures=[
            Figure("This week", f"{week['this'] or 0} h", url=url, hint=f"of {consultant.weekly_capacity} h"),
            Figure("Last week", f"{week['last'] or 0} h", url=f"{url}?week={(monday - timedelta(days=7)).isoformat()}"),
            Figure("Sent back", week["rejected"], tone="warning" if week["rejected"] else ""),
        ],
        width=6,
        order=15,
    )


def approvals_waiting(user) -> Panel | None:
    if not has_role(user, Role.PROJECT_MANAGER):
        return None
    scope = {} if has_role(user, Role.ADMIN) else {"project__project_manager": user}
    time = TimeEntry.objects.filter(status=EntryStatus.SUBMITTED, **scope).aggregate(n=Count("id"), h=Sum("hours"))
    expenses = Expense.objects.filter(status=EntryStatus.SUBMITTED, **scope).count()
    url = reverse("projects:approvals")
    return Panel(
        title="Approvals",
        figures=[
            Figure("Time entries waiting", time["n"], url=url, hint=f"{time['h'] or 0} h"),
            Figure("Expenses waiting", expenses, url=url),
            Figure("Missing time", "last week", url=reverse("projects:missing-time"), small=True),
        ],
        width=6,
        order=21,
    )


PROVIDERS = [my_projects, my_week, approvals_waiting]
