"""Burn alerts (issue 21): a project whose actual reaches a share of its budget, or whose forecast at completion
exceeds it, raises an alert once per crossing.

- Levels per project (`Project.alert_warning_percent` [80] and `alert_over_percent` [100]) apply to budget hours
  (approved hours) and to the budget amount (billable value of approved time), each on its own: at 85 % of the
  hours the project has an "hours at the warning level" alert; at 100 % that one clears ("passed the budget") and
  "hours at the budget" opens. "Forecast at completion above budget" compares the forecast hours (the PM's
  estimate to complete where there is one, else the run-rate; ledger.selectors.budget) with the budget hours.
- Raised once: one open alert per project and kind (a partial unique index); the check raises what newly holds,
  emits the webhook event `project.budget_threshold` for it, and clears open alerts whose condition no longer
  holds, with the reason (a change order that raised the budget, or actual back below the level after entries
  were rejected). A crossing after a clear raises a new alert.
- Where it shows: the exception queue (rule budget_threshold), the PM's home page and the project's budget panel.
- When it runs: beat every five minutes (ledger.tasks.budget_alerts_check_task) over the active projects with a
  budget and the projects with open alerts — six grouped queries whatever their number, plus one write per
  change. Time approval and change orders live in a lower layer (projects), which does not call up into the
  ledger; the periodic check picks their effect up within minutes.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ledger.choices import BudgetAlertKind
from ledger.models import BudgetAlert
from ledger.selectors.budget import budget_with_estimates
from projects.choices import ProjectStatus
from projects.models import Project
from projects.selectors.budget import BudgetFigures
from psa.core.webhooks import event_emit

LOCK_KEY = 7_021_001  # pg_advisory_xact_lock key: one check at a time, so an alert is raised once


@dataclass(frozen=True)
class AlertsChecked:
    raised: list[BudgetAlert]
    cleared: int


@dataclass(frozen=True)
class _Holds:
    percent: Decimal
    actual: Decimal
    budget: Decimal
    threshold: int


def _conditions(project: Project, fig: BudgetFigures) -> dict[str, _Holds]:
    """The alert kinds that hold for a project now, with the figures they hold on."""
    warn, over = project.alert_warning_percent, project.alert_over_percent
    holds: dict[str, _Holds] = {}
    pairs = (
        (fig.percent_burned, fig.actual_hours, fig.budget_hours, BudgetAlertKind.HOURS_WARNING,
         BudgetAlertKind.HOURS_OVER),
        (fig.percent_amount_burned, fig.value, fig.budget_amount, BudgetAlertKind.AMOUNT_WARNING,
         BudgetAlertKind.AMOUNT_OVER),
    )  # fmt: skip
    for percent, actual, budget, warning_kind, over_kind in pairs:
        if percent is None:
            continue
        if percent >= over:
            holds[over_kind] = _Holds(percent, actual, budget, over)
        elif percent >= warn:
            holds[warning_kind] = _Holds(percent, actual, budget, warn)
    if fig.over_budget and fig.forecast_percent is not None:
        holds[BudgetAlertKind.FORECAST_OVER] = _Holds(fig.forecast_percent, fig.forecast_hours, fig.budget_hours, 100)
    return holds


def _clear_reason(alert: BudgetAlert, project: Project, holds: dict[str, _Holds]) -> str:
    hours_kinds = (BudgetAlertKind.HOURS_WARNING, BudgetAlertKind.HOURS_OVER, BudgetAlertKind.FORECAST_OVER)
    budget_now = project.budget_hours if alert.kind in hours_kinds else project.budget_amount
    if budget_now > alert.budget:
        return f"Budget raised from {alert.budget:,.2f} to {budget_now:,.2f}."
    if alert.kind == BudgetAlertKind.HOURS_WARNING and BudgetAlertKind.HOURS_OVER in holds:
        return "Passed the budget."
    if alert.kind == BudgetAlertKind.AMOUNT_WARNING and BudgetAlertKind.AMOUNT_OVER in holds:
        return "Passed the budget."
    if project.status != ProjectStatus.ACTIVE:
        return f"Project {project.get_status_display().lower()}."
    return "Back below the level."


def budget_alerts_check(*, project_ids: Iterable[int] | None = None, as_of: date | None = None) -> AlertsChecked:
    """Raise and clear burn alerts for these projects (default: active projects with a budget, and projects with
    open alerts). One transaction; safe to run twice and concurrently (a transaction-level advisory lock on
    PostgreSQL makes checks take turns)."""
    as_of = as_of or timezone.localdate()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        open_alerts = BudgetAlert.objects.filter(cleared_at__isnull=True)
        if project_ids is not None:
            ids = set(project_ids)
            open_alerts = open_alerts.filter(project_id__in=ids)
        else:
            with_budget = Q(budget_hours__gt=0) | Q(budget_amount__gt=0)
            ids = set(Project.objects.filter(with_budget, status=ProjectStatus.ACTIVE).values_list("pk", flat=True))
        alerts = list(open_alerts)
        ids |= {a.project_id for a in alerts}
        projects = Project.objects.in_bulk(ids)
        budgets = budget_with_estimates(project_ids=sorted(ids), as_of=as_of)
        holds = {
            pk: _conditions(project, budgets[pk].figures) if project.status == ProjectStatus.ACTIVE else {}
            for pk, project in projects.items()
        }
        now = timezone.now()
        cleared = []
        for alert in alerts:
            if alert.kind not in holds.get(alert.project_id, {}):
                alert.cleared_at = now
                alert.cleared_reason = _clear_reason(alert, projects[alert.project_id], holds[alert.project_id])
                cleared.append(alert)
        BudgetAlert.objects.bulk_update(cleared, ["cleared_at", "cleared_reason"])
        still_open = {(a.project_id, a.kind) for a in alerts if a.cleared_at is None}
        new = [
            BudgetAlert(
                project_id=pk,
                kind=kind,
                threshold_percent=h.threshold,
                percent=h.percent,
                actual=h.actual,
                budget=h.budget,
            )
            for pk in sorted(holds)
            for kind, h in sorted(holds[pk].items())
            if (pk, kind) not in still_open
        ]
        raised = BudgetAlert.objects.bulk_create(new)
        for alert in raised:
            project = projects[alert.project_id]
            event_emit(
                type="project.budget_threshold",
                key=f"budget-alert:{alert.pk}",
                data={
                    "project": {"id": project.pk, "code": project.code, "name": project.name},
                    "kind": alert.kind,
                    "threshold_percent": alert.threshold_percent,
                    "percent": alert.percent,
                    "actual": alert.actual,
                    "budget": alert.budget,
                    "currency": project.currency if "amount" in alert.kind else None,
                },
            )
    return AlertsChecked(raised=raised, cleared=len(cleared))
