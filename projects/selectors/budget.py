"""Budget against actual, per project, per task and per contract line. Set-based: a fixed number of queries
whatever the number of projects and entries; sums happen in SQL and Python folds only aggregate rows.

Definitions:
- actual hours are *approved* time, as everywhere else (the exception queue's estimate rule, recognition,
  billing); submitted hours awaiting approval are shown apart, never counted as actual;
- cost to date is the approved hours x the cost rate snapshotted on each entry;
- billable value to date is billing's and recognition's value of approved billable T&M time
  (`projects.calculations.tm_value_by_line`), per contract line, summed for tasks and projects per group the
  same way (the value of a task is its entries' groups valued once, not entry by entry);
- remaining = budget - actual; percent burned = actual / budget (hours), None without a budget;
- forecast at completion (hours): actual + the PM's estimate to complete when the caller passes one (estimates
  live in the ledger; `ledger.selectors.budget` passes them), else actual + the weekly run-rate of the last
  `weeks` weeks x the weeks left to the project's end date ("run-rate"), else actual ("actual": nothing to
  project from). The method is on every figure.

Billed and recognised amounts belong to billing and the ledger and are not here.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, NullIf

from projects.calculations import ENTRY_ROLE, tm_group_value
from projects.choices import EntryStatus
from projects.models import ContractLine, Project, Task, TimeEntry
from psa.core.dates import week_start
from psa.core.money import HOURS_PLACES, ZERO, round_money, round_to

RUN_RATE_WEEKS = 6
PERCENT_PLACES = Decimal("0.1")
VALUE = DecimalField(max_digits=18, decimal_places=4)
HUNDRED = Decimal(100)


@dataclass
class BudgetFigures:
    """One row of budget against actual (a project, a task or a contract line)."""

    budget_hours: Decimal = ZERO
    budget_amount: Decimal = ZERO
    actual_hours: Decimal = ZERO
    submitted_hours: Decimal = ZERO
    cost: Decimal = ZERO
    value: Decimal = ZERO
    recent_hours: Decimal = ZERO  # approved hours in the run-rate window
    forecast_hours: Decimal = ZERO
    forecast_method: str = "actual"  # "estimate", "run-rate" or "actual"

    @property
    def remaining_hours(self) -> Decimal:
        return self.budget_hours - self.actual_hours

    @property
    def remaining_amount(self) -> Decimal:
        return self.budget_amount - self.value

    @property
    def percent_burned(self) -> Decimal | None:
        if not self.budget_hours:
            return None
        return round_to(self.actual_hours * HUNDRED / self.budget_hours, PERCENT_PLACES)

    @property
    def percent_amount_burned(self) -> Decimal | None:
        if not self.budget_amount:
            return None
        return round_to(self.value * HUNDRED / self.budget_amount, PERCENT_PLACES)

    @property
    def forecast_percent(self) -> Decimal | None:
        if not self.budget_hours:
            return None
        return round_to(self.forecast_hours * HUNDRED / self.budget_hours, PERCENT_PLACES)

    @property
    def over_budget(self) -> bool:
        return bool(self.budget_hours) and self.forecast_hours > self.budget_hours


@dataclass
class NamedFigures:
    pk: int
    name: str
    figures: BudgetFigures


@dataclass
class ProjectBudget:
    project_id: int
    figures: BudgetFigures
    tasks: list[NamedFigures] = field(default_factory=list)
    lines: list[NamedFigures] = field(default_factory=list)
    unassigned: BudgetFigures = field(default_factory=BudgetFigures)  # time on no task


def _run_rate_forecast(fig: BudgetFigures, *, weeks: int, end: date | None, as_of: date) -> None:
    fig.forecast_hours, fig.forecast_method = fig.actual_hours, "actual"
    if end is None or end <= as_of or not fig.recent_hours:
        return
    weeks_left = Decimal((end - as_of).days) / Decimal(7)
    fig.forecast_hours = round_to(fig.actual_hours + fig.recent_hours / Decimal(weeks) * weeks_left, HOURS_PLACES)
    fig.forecast_method = "run-rate"


def budget_vs_actual(
    *,
    project_ids: Iterable[int],
    as_of: date,
    weeks: int = RUN_RATE_WEEKS,
    etc_hours: Mapping[int, Decimal] | None = None,
) -> dict[int, ProjectBudget]:
    """Budget against actual for these projects, keyed by project id: five queries whatever their number.
    `etc_hours` maps a project id to the PM's estimate to complete (hours); where given, the project's forecast
    is actual + that estimate (tasks and lines then keep their run-rate forecast)."""
    ids = list(project_ids)
    etc = etc_hours or {}
    projects = {
        p["pk"]: p for p in Project.objects.filter(pk__in=ids).values("pk", "budget_hours", "budget_amount", "end_date")
    }
    out = {
        pk: ProjectBudget(pk, BudgetFigures(budget_hours=p["budget_hours"], budget_amount=p["budget_amount"]))
        for pk, p in projects.items()
    }
    tasks: dict[int, NamedFigures] = {}
    for t in (
        Task.objects.filter(project_id__in=ids)
        .values("pk", "project_id", "name", "budget_hours")
        .order_by("project_id", "order", "pk")
    ):
        tasks[t["pk"]] = NamedFigures(t["pk"], t["name"], BudgetFigures(budget_hours=t["budget_hours"]))
        out[t["project_id"]].tasks.append(tasks[t["pk"]])
    lines: dict[int, NamedFigures] = {}
    line_project: dict[int, int] = {}
    for line in (
        ContractLine.objects.filter(contract__project_id__in=ids)
        .values("pk", "contract__project_id", "contract__number", "description", "hours", "price")
        .order_by("contract__project_id", "contract_id", "position", "pk")
    ):
        name = f"{line['contract__number']} · {line['description']}"
        lines[line["pk"]] = NamedFigures(
            line["pk"], name, BudgetFigures(budget_hours=line["hours"], budget_amount=line["price"])
        )
        out[line["contract__project_id"]].lines.append(lines[line["pk"]])
        line_project[line["pk"]] = line["contract__project_id"]

    since = as_of - timedelta(weeks=weeks)
    approved = Q(status=EntryStatus.APPROVED)
    entries = TimeEntry.objects.filter(project_id__in=ids, date__lte=as_of)
    rows = (
        entries.filter(status__in=[EntryStatus.APPROVED, EntryStatus.SUBMITTED])
        .values("project_id", "task_id", "contract_line_id")
        .annotate(
            h=Coalesce(Sum("hours", filter=approved), ZERO),
            s=Coalesce(Sum("hours", filter=Q(status=EntryStatus.SUBMITTED)), ZERO),
            c=Coalesce(
                Sum(
                    ExpressionWrapper(F("hours") * Coalesce(F("cost_rate"), ZERO), output_field=VALUE), filter=approved
                ),
                ZERO,
                output_field=VALUE,
            ),
            r=Coalesce(Sum("hours", filter=approved & Q(date__gt=since)), ZERO),
        )
        .order_by()
    )
    for row in rows:
        targets = [out[row["project_id"]].figures]
        task = tasks.get(row["task_id"]) if row["task_id"] else None
        targets.append(task.figures if task else out[row["project_id"]].unassigned)
        if row["contract_line_id"] in lines:
            targets.append(lines[row["contract_line_id"]].figures)
        for fig in targets:
            fig.actual_hours += row["h"]
            fig.submitted_hours += row["s"]
            fig.cost += row["c"]
            fig.recent_hours += row["r"]

    # Billable value: billing's groups (contract line x role x rate, `tm_groups`), each valued once; a line's and a
    # project's value is the sum over its groups, exactly what recognition and billing reach. A task's value
    # values its share of each group on its own (it can differ from the line's by a rounding cent).
    billable = entries.filter(status=EntryStatus.APPROVED, billable=True, contract_line__isnull=False)
    group_hours: dict[tuple[int, int | None, Decimal], Decimal] = {}
    for g in (
        billable.values("task_id", "contract_line_id", "bill_rate", role_id=ENTRY_ROLE)
        .annotate(group_hours=Sum("hours"))
        .order_by()
    ):
        rate = g["bill_rate"] or ZERO
        key = (g["contract_line_id"], g["role_id"], rate)
        group_hours[key] = group_hours.get(key, ZERO) + g["group_hours"]
        task = tasks.get(g["task_id"]) if g["task_id"] else None
        if task is not None:
            task.figures.value += tm_group_value(g["group_hours"], rate)
    for (line_id, _role, rate), hours in group_hours.items():
        v = tm_group_value(hours, rate)
        if line_id in lines:
            lines[line_id].figures.value += v
        project_id = line_project.get(line_id)
        if project_id is not None:
            out[project_id].figures.value += v

    for pk, budget in out.items():
        end = projects[pk]["end_date"]
        for fig in [budget.figures, budget.unassigned, *(n.figures for n in budget.tasks + budget.lines)]:
            _run_rate_forecast(fig, weeks=weeks, end=end, as_of=as_of)
        if pk in etc:
            budget.figures.forecast_hours = budget.figures.actual_hours + etc[pk]
            budget.figures.forecast_method = "estimate"
    for b in out.values():
        for fig in [b.figures, b.unassigned, *(n.figures for n in b.tasks + b.lines)]:
            fig.cost = round_money(fig.cost)  # half up, as every amount
    return out


def weekly_burn(*, project_id: int, as_of: date) -> list[tuple[date, Decimal]]:
    """Approved hours per week (Monday) up to `as_of`, cumulative, for the burn-down chart: one query."""
    rows = (
        TimeEntry.objects.filter(project_id=project_id, status=EntryStatus.APPROVED, date__lte=as_of)
        .values("date")
        .annotate(h=Sum("hours"))
        .order_by("date")
    )
    weeks: dict[date, Decimal] = {}
    for r in rows:
        monday = week_start(r["date"])
        weeks[monday] = weeks.get(monday, ZERO) + r["h"]
    total, out = ZERO, []
    for monday in sorted(weeks):
        total += weeks[monday]
        out.append((monday, total))
    return out


def with_burn[Q_: QuerySet[Project]](projects: Q_, *, as_of: date, weeks: int = RUN_RATE_WEEKS) -> Q_:
    """These projects annotated for sorting in SQL: `burned_rank`, the percent of budget hours approved to date,
    and `burning_rank`, the percent of budget hours approved in the last `weeks` weeks (who is burning fastest);
    -1 without a budget, so those sort last."""
    approved = TimeEntry.objects.filter(project=OuterRef("pk"), status=EntryStatus.APPROVED, date__lte=as_of)

    def share(entries: QuerySet[TimeEntry]) -> Coalesce:
        hours = Subquery(entries.order_by().values("project").annotate(h=Sum("hours")).values("h")[:1])
        pct = ExpressionWrapper(Coalesce(hours, ZERO) * HUNDRED / NullIf(F("budget_hours"), ZERO), output_field=VALUE)
        return Coalesce(pct, Decimal(-1), output_field=VALUE)

    return projects.annotate(
        burned_rank=share(approved), burning_rank=share(approved.filter(date__gt=as_of - timedelta(weeks=weeks)))
    )
