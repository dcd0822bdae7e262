"""The month-end checklist: what is still outstanding before a month closes, and which of it blocks the close.

The ledger's own checks are declared here (unapproved time and expenses, the labour cost posting (not blocking:
a month may close with cost the next run catches up), the recognition run, the foreign-currency revaluation).
The layers above the ledger own checks of their own (billing: approved time not yet billed, draft
invoices, unallocated payments; billing/close_checks.py) that the ledger must not import. They are supplied down,
not registered up: the composition root names them in settings (`PSA_CLOSE_CHECKS`: dotted paths to sequences of
`Check`, as INSTALLED_APPS names the apps), and `close_checklist` takes them as `extra_checks` (default: those
settings), so the page and the API show one list. Nothing is filled in at start-up, and a caller may pass its
own. The blocking checks (today the ledger's recognition run and revaluation) are what `close_blockers`
(period_close) runs.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.module_loading import import_string

from ledger.choices import RecognitionRunStatus, RevaluationRunStatus
from ledger.models import AccountingPeriod, RecognitionRun, RevaluationRun
from ledger.selectors.project_cost import cost_outstanding
from ledger.selectors.revaluation import revaluation_plan
from projects.models import Expense, TimeEntry
from psa.core.fx import MissingRate


@dataclass(frozen=True)
class CheckResult:
    """One checklist line: how many items are outstanding (0 = done), optionally their amount, where to fix."""

    count: int
    amount: Decimal | None = None
    url: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Check:
    key: str
    label: str
    order: int
    check: Callable[[AccountingPeriod], CheckResult]
    blocking: bool = False  # True: the month should not close while it is outstanding


@dataclass(frozen=True)
class ChecklistRow:
    key: str
    label: str
    blocking: bool
    result: CheckResult

    @property
    def done(self) -> bool:
        return self.result.count == 0


def _unapproved_time(period: AccountingPeriod) -> CheckResult:
    open_statuses = ["draft", "submitted", "rejected"]
    in_month = Q(date__gte=period.start, date__lte=period.end, status__in=open_statuses)
    time = TimeEntry.objects.filter(in_month).aggregate(n=Count("id"))["n"]
    expenses = Expense.objects.filter(in_month).aggregate(n=Count("id"))["n"]
    return CheckResult(
        count=time + expenses,
        url=reverse("projects:approvals"),
        detail=f"{time} time entries and {expenses} expenses not approved yet",
    )


def _recognition_not_run(period: AccountingPeriod) -> CheckResult:
    run = (
        RecognitionRun.objects.filter(period=period)
        .exclude(status=RecognitionRunStatus.FAILED)
        .order_by("-started_at", "-id")
        .first()
    )
    if run is None:
        return CheckResult(count=1, detail="No recognition run for this month yet.")
    if run.is_running:
        return CheckResult(count=1, detail=f"Run #{run.pk} is still running ({run.processed}/{run.total}).")
    errors = len(run.errors or [])
    return CheckResult(
        count=0,
        amount=run.amount,
        url=reverse("ledger:recognition_run", args=[run.pk]),
        detail=f"Run #{run.pk} finished {run.finished_at:%Y-%m-%d %H:%M}"
        + (f" with {errors} line errors" if errors else ""),
    )


def _revaluation_not_run(period: AccountingPeriod) -> CheckResult:
    """Blocking while the period has open foreign-currency items and no revaluation holds what the current rates
    and postings give (never run, a rate corrected since, an invoice posted since, or a rate missing)."""
    url = reverse("ledger:revaluation") + f"?period={period.pk}"
    try:
        plan = revaluation_plan(period)
    except MissingRate as missing:
        return CheckResult(count=1, url=url, detail=missing.message)
    items = sum(1 for i in plan.items if i.open)
    if not plan.items:
        return CheckResult(count=0, url=url, detail="No open foreign-currency items.")
    changed = sum(1 for i in plan.items if i.changed)
    ran = RevaluationRun.objects.filter(
        period=period, status__in=[RevaluationRunStatus.DONE, RevaluationRunStatus.UNCHANGED]
    ).exists()
    if changed or not ran:
        return CheckResult(
            count=changed or items,
            amount=plan.difference,
            url=url,
            detail=f"{items} open foreign-currency items; "
            + ("not revalued at the period-end rates yet." if not ran else f"{changed} changed since the last run."),
        )
    return CheckResult(count=0, amount=plan.difference, url=url, detail=f"{items} items revalued at current rates.")


def _labour_cost_not_posted(period: AccountingPeriod) -> CheckResult:
    """Red while the approved cost (time and expenses) dated on or before the month end differs from what the
    labour cost entries hold: never run, or time approved, rejected back or re-rated since the last run."""
    url = reverse("ledger:cost_runs") + f"?period={period.pk}"
    outstanding = cost_outstanding(through=period.end)
    if not outstanding:
        return CheckResult(count=0, url=url, detail="Labour cost posted for every project.")
    projects = len({project_id for project_id, _month in outstanding})
    return CheckResult(
        count=len(outstanding),
        url=url,
        detail=f"{projects} project{'s' if projects != 1 else ''} with approved cost not posted "
        f"({len(outstanding)} project-months); run the labour cost posting.",
    )


LEDGER_CHECKS = (
    Check(key="unapproved_time", label="Unapproved time and expenses", check=_unapproved_time, order=10),
    Check(key="labour_cost", label="Labour cost posted", check=_labour_cost_not_posted, order=35),
    Check(key="recognition", label="Revenue recognition run", check=_recognition_not_run, order=40, blocking=True),
    Check(
        key="fx_revaluation",
        label="Foreign-currency revaluation",
        check=_revaluation_not_run,
        order=45,
        blocking=True,
    ),
)


def configured_checks() -> list[Check]:
    """The checks of the layers above, as the composition root names them (settings.PSA_CLOSE_CHECKS)."""
    return [check for path in settings.PSA_CLOSE_CHECKS for check in import_string(path)]


def _ordered(checks: Sequence[Check]) -> list[Check]:
    by_key = {c.key: c for c in checks}  # a later check with the same key replaces an earlier one
    return sorted(by_key.values(), key=lambda c: (c.order, c.key))


def close_checklist(period: AccountingPeriod, *, extra_checks: Sequence[Check] | None = None) -> list[ChecklistRow]:
    """The ledger's checks and `extra_checks` (default: settings.PSA_CLOSE_CHECKS) for the month, in order."""
    extra = configured_checks() if extra_checks is None else list(extra_checks)
    return [
        ChecklistRow(key=c.key, label=c.label, blocking=c.blocking, result=c.check(period))
        for c in _ordered([*LEDGER_CHECKS, *extra])
    ]


def close_blockers(period: AccountingPeriod, *, extra_checks: Sequence[Check] | None = None) -> list[ChecklistRow]:
    """The blocking items still outstanding for the month (only the blocking checks run)."""
    extra = configured_checks() if extra_checks is None else list(extra_checks)
    rows = [
        ChecklistRow(key=c.key, label=c.label, blocking=True, result=c.check(period))
        for c in _ordered([*LEDGER_CHECKS, *extra])
        if c.blocking
    ]
    return [r for r in rows if not r.done]
