"""Home panels for time: a consultant's week, a PM's approvals waiting. Fixed query counts."""

from datetime import date, timedelta

from django.db.models import Count, Q, Sum
from django.urls import reverse

from projects.models import Consultant, EntryStatus, Expense, TimeEntry
from psa.core.roles import Role, has_role
from psa.core.ui import Figure, Panel


def my_week(user) -> Panel | None:
    if not has_role(user, Role.CONSULTANT) or has_role(user, Role.ADMIN):
        return None
    consultant = Consultant.objects.filter(user=user).first()
    if consultant is None:
        return None
    monday = date.today() - timedelta(days=date.today().weekday())
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
