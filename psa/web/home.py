"""Home page panels, per role. Every figure is read from the database; later apps add their own providers.

A provider takes the user and returns a Panel or None (not for this user). The composition's own providers
are here; each app adds its own in `<app>/home.py` (`PROVIDERS`), imported here by name in layer order. Each
issues a fixed number of queries whatever the data size; panels are shown by `order`.
"""

from collections.abc import Callable
from datetime import timedelta

from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from billing import home as billing_home
from crm import home as crm_home
from ledger import home as ledger_home
from projects import home as projects_home
from psa.core.dateformat import format_day, format_day_time
from psa.core.labels import person_name
from psa.core.models import AuditEvent, OutboxMessage, OutboxStatus
from psa.core.roles import Role, has_role, user_roles
from psa.core.ui import Figure, Panel

Provider = Callable[[object], Panel | None]
PROVIDERS: list[Provider] = []


def provider(fn: Provider) -> Provider:
    PROVIDERS.append(fn)
    return fn


def panels_for(user) -> list[Panel]:
    providers = [
        *PROVIDERS,
        *crm_home.PROVIDERS,
        *projects_home.PROVIDERS,
        *ledger_home.PROVIDERS,
        *billing_home.PROVIDERS,
    ]
    panels = [p for p in (fn(user) for fn in providers) if p is not None]
    return sorted(panels, key=lambda p: p.order)


@provider
def _my_account(user) -> Panel:
    return Panel(
        title="My account",
        figures=[
            Figure("Roles", ", ".join(sorted(r.label for r in user_roles(user))) or "none", small=True),
            Figure(
                "Last sign-in",
                format_day_time(user.last_login) if user.last_login else "first",
                small=True,
            ),
            Figure("Member since", format_day(user.date_joined), small=True),
        ],
        width=4,
        order=0,
    )


@provider
def _people(user) -> Panel | None:
    if not has_role(user, Role.ADMIN, Role.FINANCE, Role.PROJECT_MANAGER):
        return None
    User = get_user_model()
    counts = User.objects.filter(is_active=True).aggregate(
        total=Count("id", distinct=True),
        **{r.value: Count("id", filter=Q(groups__name=r.value), distinct=True) for r in Role},
    )
    return Panel(
        title="People",
        figures=[Figure("Active users", counts["total"])] + [Figure(r.label, counts[r.value]) for r in Role],
        width=8,
    )


@provider
def _jobs(user) -> Panel | None:
    if not has_role(user, Role.ADMIN, Role.FINANCE):
        return None
    since = timezone.now() - timedelta(days=7)
    stats = OutboxMessage.objects.aggregate(
        pending=Count("id", filter=Q(status=OutboxStatus.PENDING)),
        failed=Count("id", filter=Q(status=OutboxStatus.FAILED)),
        delivered_week=Count("id", filter=Q(status=OutboxStatus.DELIVERED, delivered_at__gte=since)),
    )
    return Panel(
        title="Outgoing messages",
        figures=[
            Figure("Waiting", stats["pending"], tone="warning" if stats["pending"] else ""),
            Figure("Failed", stats["failed"], tone="danger" if stats["failed"] else ""),
            Figure("Delivered in 7 days", stats["delivered_week"]),
        ],
        width=6,
    )


@provider
def _security(user) -> Panel | None:
    if not has_role(user, Role.ADMIN):
        return None
    since = timezone.now() - timedelta(days=1)
    return Panel(
        title="Sign-in security",
        figures=[
            Figure("Failed sign-ins (24 h)", AccessFailureLog.objects.filter(attempt_time__gte=since).count()),
            Figure(
                "Locked out now",
                AccessAttempt.objects.filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT).count(),
                url=reverse("admin:axes_accessattempt_changelist"),
            ),
        ],
        width=6,
    )


@provider
def _recent_activity(user) -> Panel | None:
    if not has_role(user, Role.ADMIN, Role.FINANCE):
        return None
    events = AuditEvent.objects.select_related("actor").order_by("-at", "-id")[:8]
    return Panel(
        title="Recent activity",
        columns=["When", "Who", "What"],
        rows=[
            {
                "cells": [
                    format_day_time(e.at),
                    person_name(e.actor) or "system",
                    e.summary,
                ]
            }
            for e in events
        ],
        empty="No recorded activity yet.",
        width=12,
        order=1000,
    )
