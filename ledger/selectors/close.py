"""Month-end hooks: the period-close checklist and price reductions, filled in by the apps that own the data.

The ledger sits below billing and must not import it, yet the close checklist lists billing's draft invoices,
unallocated payments and approved-but-unbilled time, and recognition must know which credit notes cut a price.
So billing registers small functions here from its AppConfig.ready() (billing/close_checks.py); the ledger
calls whatever is registered. The ledger's own checks (unapproved time, recognition not yet run) are
registered below.

    register_check(key="draft_invoices", label="Draft invoices", order=30, check=fn)   # fn(period) -> CheckResult
    register_price_reductions(fn)   # fn(project_ids, as_of) -> {project_id: amount credited as a price cut}
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Q
from django.urls import reverse

from ledger.choices import RecognitionRunStatus
from ledger.models import AccountingPeriod, RecognitionRun
from projects.models import Expense, TimeEntry


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


_CHECKS: dict[str, Check] = {}
_PRICE_REDUCTIONS: list[Callable[[list[int], date], dict[int, Decimal]]] = []


def register_check(
    *, key: str, label: str, check: Callable[[AccountingPeriod], CheckResult], order: int = 50, blocking=False
) -> None:
    """Add (or replace, by key) one item of the close checklist."""
    _CHECKS[key] = Check(key=key, label=label, order=order, check=check, blocking=blocking)


def register_price_reductions(provider: Callable[[list[int], date], dict[int, Decimal]]) -> None:
    if provider not in _PRICE_REDUCTIONS:
        _PRICE_REDUCTIONS.append(provider)


def price_reductions(project_ids: list[int], as_of: date) -> dict[int, Decimal]:
    """Σ price cuts per project from every registered provider (billing's credit notes)."""
    total: dict[int, Decimal] = {}
    for provider in _PRICE_REDUCTIONS:
        for project_id, amount in provider(project_ids, as_of).items():
            total[project_id] = total.get(project_id, Decimal("0.00")) + amount
    return total


def close_checklist(period: AccountingPeriod) -> list[ChecklistRow]:
    """Every registered check for the month, in order."""
    return [
        ChecklistRow(key=c.key, label=c.label, blocking=c.blocking, result=c.check(period))
        for c in sorted(_CHECKS.values(), key=lambda c: (c.order, c.key))
    ]


def close_blockers(period: AccountingPeriod) -> list[ChecklistRow]:
    """The blocking items still outstanding for the month (only the blocking checks run)."""
    rows = [
        ChecklistRow(key=c.key, label=c.label, blocking=True, result=c.check(period))
        for c in sorted(_CHECKS.values(), key=lambda c: (c.order, c.key))
        if c.blocking
    ]
    return [r for r in rows if not r.done]


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


register_check(key="unapproved_time", label="Unapproved time and expenses", check=_unapproved_time, order=10)
register_check(key="recognition", label="Revenue recognition run", check=_recognition_not_run, order=40, blocking=True)
