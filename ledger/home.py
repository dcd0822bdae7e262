"""Home panels: for finance the open month, the last close, this month's postings and a six-month P&L chart; for
project managers the burn alerts of their projects."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from ledger.choices import BudgetAlertKind, PeriodStatus
from ledger.models import AccountingPeriod, BudgetAlert, JournalEntry
from ledger.selectors import pnl
from psa.core.dates import month_start
from psa.core.roles import Role, has_role
from psa.core.ui import Figure, Panel


def _ledger(user) -> Panel | None:
    if not has_role(user, Role.FINANCE):
        return None
    today = timezone.localdate()
    first_open = AccountingPeriod.objects.filter(status=PeriodStatus.OPEN).order_by("start").first()
    last_closed = AccountingPeriod.objects.filter(status=PeriodStatus.CLOSED).order_by("-start").first()
    this_month = JournalEntry.objects.filter(date__gte=month_start(today), date__lte=today).count()
    start = month_start(month_start(today) - timedelta(days=150))
    report = pnl(start=start, end=today, by="period")
    chart = None
    if report.columns:
        chart = {
            "id": "ledger-home-pnl",
            "type": "bar",
            "data": {
                "labels": report.columns,
                "datasets": [
                    {"label": "Income", "data": list(report.income_totals), "backgroundColor": "#3d8b5f"},
                    {
                        "label": "Expenses",
                        "data": list(report.expense_totals),
                        "backgroundColor": "#c8553d",
                    },
                ],
            },
            "options": {"plugins": {"legend": {"position": "bottom"}}},
        }
    return Panel(
        title="Ledger",
        figures=[
            Figure(
                "First open month",
                first_open.label if first_open else "none",
                url=reverse("ledger:periods"),
                small=True,
            ),
            Figure(
                "Last closed", last_closed.label if last_closed else "none", url=reverse("ledger:periods"), small=True
            ),
            Figure("Entries this month", this_month, url=reverse("ledger:entries")),
            Figure(
                "Net income (6 months)",
                f"{report.net_total:,.2f}",
                url=reverse("ledger:pnl"),
                tone="danger" if report.net_total < 0 else "",
            ),
        ],
        chart=chart,
        width=6,
        order=40,
    )


def _burn_alerts(user) -> Panel | None:
    """The open burn alerts of the projects the user manages, worst first (one query)."""
    if not has_role(user, Role.PROJECT_MANAGER):
        return None
    alerts = list(
        BudgetAlert.objects.filter(cleared_at__isnull=True, project__project_manager=user)
        .select_related("project")
        .order_by("-percent", "pk")[:8]
    )
    hours = (BudgetAlertKind.HOURS_WARNING, BudgetAlertKind.HOURS_OVER, BudgetAlertKind.FORECAST_OVER)
    return Panel(
        title="Budget alerts",
        columns=["Project", "Alert", "Burned"],
        rows=[
            {
                "cells": [
                    f"{a.project.code} {a.project.name}",
                    a.get_kind_display(),
                    f"{a.percent} % of {a.budget:,.2f} {'h' if a.kind in hours else a.project.currency}",
                ],
                "url": reverse("projects:project", args=[a.project_id]),
            }
            for a in alerts
        ],
        empty="No project of yours is near its budget.",
        width=6,
        order=21,
    )


PROVIDERS = [_ledger, _burn_alerts]
