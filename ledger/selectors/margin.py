"""Project margin: one definition, read from the GL, everywhere it is shown (DESIGN.md invariant 13; psa.core.kpis
"project_margin"): the margin report, the dashboard, the month-end figures, the project page, the account page
and, as percentages and rates, the opportunity page.

    project margin = GL revenue - GL project cost, both from journal lines with the project's dimension

- revenue: credits - debits on income accounts;
- cost: debits - credits on the project cost accounts (ledger.choices.PROJECT_COST_ROLES: cost of services and
  re-billable costs), whatever posted them: the month-end cost run (labour, subcontractors, expenses), vendor
  bills, intercompany recharges, manual entries;
- amounts are the lines' debit and credit, i.e. the functional currency;
- the group view (no entity chosen) eliminates intercompany as the consolidation does: the intercompany revenue
  account and the cost lines of intercompany-recharge entries (ledger.choices.IC_RECHARGE_SOURCE) are left out,
  since the group's cost of that work is the employing entity's own labour cost. One entity's books (an entity
  chosen): they count, being that entity's real revenue and cost.

Beside the margin, the report shows approved hours and the effective rate (revenue / approved hours, billable and
not: what an hour of delivery really earned), and "cost not yet posted": the cost the approved sources of the
dates stand for (time x its snapshot cost rate, rounded per entry, plus approved expenses; each currency converted
at the named rate of the report's end) less the cost the month-end cost run posted for them (its entries' source
starts with LABOUR_COST_SOURCE, in any entity). Non-zero means the cost run is behind the approvals; it is a
warning beside the margin, never part of it. Compare whole months: the run posts at the month end.

Every read is a fixed number of grouped queries, whatever the number of projects or lines.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Case, DecimalField, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, Round, TruncMonth

from ledger.choices import (
    IC_RECHARGE_SOURCE,
    LABOUR_COST_SOURCE,
    PROJECT_COST_ROLES,
    AccountType,
    SystemAccount,
)
from ledger.models import JournalLine
from ledger.selectors.books import pnl
from projects.choices import EntryStatus
from projects.models import Expense, Project, TimeEntry
from psa.core.dates import month_start
from psa.core.money import RATE_PLACES, ZERO, round_to
from psa.core.totals import currency_totals_many

MONEY = DecimalField(max_digits=18, decimal_places=2)
PCT = Decimal("0.1")
# How far back the opportunity page looks for delivered projects.
REALISED_WINDOW_MONTHS = 24

_REVENUE = Q(account__type=AccountType.INCOME)
_COST = Q(account__system_role__in=PROJECT_COST_ROLES)


def _sum(expression: Any, condition: Q | None = None) -> Coalesce:
    if condition is not None:
        expression = Case(When(condition, then=expression), default=Value(ZERO), output_field=MONEY)
    return Coalesce(Sum(expression, output_field=MONEY), Value(ZERO), output_field=MONEY)


REVENUE = _sum(F("credit") - F("debit"), _REVENUE)
COST = _sum(F("debit") - F("credit"), _COST)


def pct(part: Decimal, whole: Decimal) -> Decimal | None:
    return round_to(part * 100 / whole, PCT) if whole else None


def rate(amount: Decimal, hours: Decimal) -> Decimal | None:
    return round_to(amount / hours, RATE_PLACES) if hours else None


def _eliminated() -> Q:
    """The lines the group view leaves out: intercompany revenue and the recharges' cost."""
    return Q(account__system_role=SystemAccount.IC_REVENUE) | (_COST & Q(entry__source__startswith=IC_RECHARGE_SOURCE))


def margin_lines(
    *,
    start: date,
    end: date,
    entity_id: int | None = None,
    client_id: int | None = None,
    project_id: int | None = None,
) -> QuerySet[JournalLine]:
    """The journal lines project margin is made of over [start, end] (see the module docstring). `client_id`
    keeps the projects of that client (the project's account)."""
    lines = JournalLine.objects.filter(_REVENUE | _COST, project__isnull=False, date__gte=start, date__lte=end)
    # One entity's books keep its intercompany revenue and cost; the group's eliminate them.
    lines = lines.filter(entity_id=entity_id) if entity_id else lines.exclude(_eliminated())
    if client_id:
        lines = lines.filter(project__account_id=client_id)
    if project_id:
        lines = lines.filter(project_id=project_id)
    return lines


def _hours(project_ids: QuerySet | list[int], start: date, end: date) -> dict[int, Decimal]:
    rows = (
        TimeEntry.objects.filter(
            status=EntryStatus.APPROVED, project_id__in=project_ids, date__gte=start, date__lte=end
        )
        .values("project_id")
        .annotate(h=Sum("hours"))
        .values_list("project_id", "h")
        .order_by()
    )
    return dict(rows)


@dataclass
class MarginFigures:
    """One project's (or a group of projects') margin; every figure the pages show comes from here."""

    revenue: Decimal = ZERO
    cost: Decimal = ZERO
    hours: Decimal = ZERO

    @property
    def margin(self) -> Decimal:
        return self.revenue - self.cost

    @property
    def margin_pct(self) -> Decimal | None:
        return pct(self.margin, self.revenue)

    @property
    def effective_rate(self) -> Decimal | None:
        return rate(self.revenue, self.hours)


# --- the report ---------------------------------------------------------------------------------------------


@dataclass
class MarginRow(MarginFigures):
    project_id: int = 0
    project: str = ""
    client: str = ""
    client_id: int = 0
    unposted: Decimal | None = None  # approved source cost not yet posted by the cost run; None: a rate missing


@dataclass
class MarginReport:
    start: date
    end: date
    entity_id: int | None
    rows: list[MarginRow]
    totals: MarginFigures
    unposted: Decimal | None
    # The reconciliation to the GL P&L by project over the same dates, entity and projects.
    pnl_revenue: Decimal = ZERO
    pnl_cost: Decimal = ZERO
    eliminated_revenue: Decimal = ZERO
    eliminated_cost: Decimal = ZERO
    missing_rates: list[str] = field(default_factory=list)

    @property
    def reconciles(self) -> bool:
        return (
            self.totals.revenue == self.pnl_revenue - self.eliminated_revenue
            and self.totals.cost == self.pnl_cost - self.eliminated_cost
        )


def _unposted(project_ids: list[int], start: date, end: date) -> tuple[dict[int, Decimal | None], list[str]]:
    """Per project: approved source cost (converted at the rates of `end`) less the cost run's GL cost."""
    time_cost = Round(F("hours") * Coalesce(F("cost_rate"), Value(ZERO)), 2)
    approved = {"status": EntryStatus.APPROVED, "project_id__in": project_ids, "date__gte": start, "date__lte": end}
    columns: dict[str, list[tuple[str, Decimal]]] = {str(pk): [] for pk in project_ids}
    for pk, code, value in (
        TimeEntry.objects.filter(**approved)
        .values("project_id", "consultant__cost_currency")
        .annotate(v=_sum(time_cost))
        .values_list("project_id", "consultant__cost_currency", "v")
        .order_by()
    ):
        columns[str(pk)].append((code, value))
    for pk, code, value in (
        Expense.objects.filter(**approved)
        .values("project_id", "currency")
        .annotate(v=_sum(F("amount")))
        .values_list("project_id", "currency", "v")
        .order_by()
    ):
        columns[str(pk)].append((code, value))
    posted = dict(
        JournalLine.objects.filter(
            _COST,
            entry__source__startswith=LABOUR_COST_SOURCE,
            project_id__in=project_ids,
            date__gte=start,
            date__lte=end,
        )
        .values("project_id")
        .annotate(v=COST)
        .values_list("project_id", "v")
        .order_by()
    )
    converted = currency_totals_many(columns, on=end) if project_ids else {}
    out: dict[int, Decimal | None] = {}
    missing: set[str] = set()
    for pk in project_ids:
        totals = converted[str(pk)]
        missing.update(totals.missing)
        out[pk] = None if totals.total is None else totals.total - posted.get(pk, ZERO)
    return out, sorted(missing)


def margin_report(
    *, start: date, end: date, client_id: int | None = None, entity_id: int | None = None, reconcile: bool = True
) -> MarginReport:
    """Project margin per project over [start, end] (psa.core.kpis "project_margin"), of one entity's books or
    of the group, with approved hours, effective rate and cost not yet posted; and its reconciliation to the GL
    P&L by project (ledger.selectors.books.pnl): Σ revenue = the P&L's income on these projects less the
    intercompany revenue the group view eliminates, Σ cost = the P&L's project cost accounts on them less the
    recharges' cost eliminated (`reconcile=False` leaves that side out: a panel that shows no reconciliation).
    A fixed number of queries whatever the size (one more per currency without a rate)."""
    figures = (
        margin_lines(start=start, end=end, entity_id=entity_id, client_id=client_id)
        .values("project_id", "project__code", "project__name", "project__account_id", "project__account__name")
        .annotate(revenue=REVENUE, cost=COST)
        .order_by("project__code")
    )
    rows = [
        MarginRow(
            revenue=r["revenue"],
            cost=r["cost"],
            project_id=r["project_id"],
            project=f"{r['project__code']} {r['project__name']}",
            client=r["project__account__name"],
            client_id=r["project__account_id"],
        )
        for r in figures
    ]
    ids = [r.project_id for r in rows]
    hours = _hours(ids, start, end) if ids else {}
    unposted, missing = _unposted(ids, start, end) if ids else ({}, [])
    for row in rows:
        row.hours = hours.get(row.project_id, ZERO)
        row.unposted = unposted.get(row.project_id)
    totals = MarginFigures(
        revenue=sum((r.revenue for r in rows), ZERO),
        cost=sum((r.cost for r in rows), ZERO),
        hours=sum((r.hours for r in rows), ZERO),
    )
    report = MarginReport(
        start=start,
        end=end,
        entity_id=entity_id,
        rows=rows,
        totals=totals,
        unposted=None if missing else sum((v or ZERO for v in unposted.values()), ZERO),
        missing_rates=missing,
    )
    if reconcile:
        _reconcile(report, client_id)
    return report


def _reconcile(report: MarginReport, client_id: int | None) -> None:
    """Fill the P&L side: the P&L by project (the books' own report) over the same dates and entity, its columns
    of the report's scope (every project, or the client's), and what the group view eliminates."""
    books = pnl(start=report.start, end=report.end, by="project", entity_id=report.entity_id)
    scope = set(Project.objects.filter(account_id=client_id).values_list("pk", flat=True)) if client_id else None
    columns = [i for i, key in enumerate(books.keys) if key is not None and (scope is None or key in scope)]
    report.pnl_revenue = sum((row.values[i] for row in books.income for i in columns), ZERO)
    report.pnl_cost = sum(
        (row.values[i] for row in books.expense if row.account.system_role in PROJECT_COST_ROLES for i in columns),
        ZERO,
    )
    if report.entity_id:
        return
    lines = JournalLine.objects.filter(_eliminated(), project__isnull=False, date__gte=report.start)
    lines = lines.filter(date__lte=report.end)
    if client_id:
        lines = lines.filter(project__account_id=client_id)
    out = lines.aggregate(revenue=REVENUE, cost=COST)
    report.eliminated_revenue, report.eliminated_cost = out["revenue"], out["cost"]


# --- one project, one client, by month ----------------------------------------------------------------------


def project_margin(*, project_id: int, start: date, end: date, entity_id: int | None = None) -> MarginFigures:
    """One project's margin over [start, end] (the project page's panel): the report's row for it. Two queries."""
    out = margin_lines(start=start, end=end, entity_id=entity_id, project_id=project_id).aggregate(
        revenue=REVENUE, cost=COST
    )
    hours = _hours([project_id], start, end).get(project_id, ZERO)
    return MarginFigures(revenue=out["revenue"], cost=out["cost"], hours=hours)


def project_margin_by_month(*, start: date, end: date, entity_id: int | None = None) -> dict[date, Decimal]:
    """The margin report's total margin per calendar month over [start, end] (the dashboard's series). One query."""
    rows = (
        margin_lines(start=start, end=end, entity_id=entity_id)
        .annotate(m=TruncMonth("date"))
        .values("m")
        .annotate(revenue=REVENUE, cost=COST)
        .values_list("m", "revenue", "cost")
        .order_by()
    )
    out: dict[date, Decimal] = {}
    for month, revenue, cost in rows:
        key = month.date() if isinstance(month, datetime) else month
        out[month_start(key)] = out.get(month_start(key), ZERO) + revenue - cost
    return out


def project_margin_total(*, start: date, end: date, entity_id: int | None = None) -> Decimal:
    """The margin report's total margin over [start, end] (the month-end figures). One query."""
    out = margin_lines(start=start, end=end, entity_id=entity_id).aggregate(revenue=REVENUE, cost=COST)
    return out["revenue"] - out["cost"]


# --- what sales sees ----------------------------------------------------------------------------------------


@dataclass
class Realised(MarginFigures):
    """Delivered projects of one group (an account, a service type) over a window: how many, their margin % and
    effective rate. Sales sees the percentage and the rate, never the cost amounts."""

    label: str = ""
    projects: int = 0


def realised_window(today: date) -> date:
    """The first day of the window the opportunity page looks back over: the month REALISED_WINDOW_MONTHS
    months before today's (the window runs through today)."""
    year, month = divmod(today.year * 12 + today.month - 1 - REALISED_WINDOW_MONTHS, 12)
    return date(year, month + 1, 1)


def realised_margins(*, account_id: int, service_type: str, start: date, end: date) -> tuple[Realised, Realised]:
    """For the opportunity page: the project margin of the account's projects and of the projects of the service
    type (the project's template records it, ProjectTemplate.service_type), over [start, end], in the group view.
    A project counts when it has revenue or cost in the window; margin % is Σ margin / Σ revenue and the
    effective rate Σ revenue / Σ approved hours (weighted by size, not an average of averages). Two queries."""
    wanted = Q(project__account_id=account_id)
    if service_type:
        wanted |= Q(project__template__service_type=service_type)
    per_project = list(
        margin_lines(start=start, end=end)
        .filter(wanted)
        .values("project_id", "project__account_id", "project__template__service_type")
        .annotate(revenue=REVENUE, cost=COST)
        .order_by()
    )
    hours = _hours([r["project_id"] for r in per_project], start, end) if per_project else {}
    account, kind = Realised(label="account"), Realised(label="service type")
    for r in per_project:
        groups = []
        if r["project__account_id"] == account_id:
            groups.append(account)
        if service_type and r["project__template__service_type"] == service_type:
            groups.append(kind)
        for group in groups:
            group.projects += 1
            group.revenue += r["revenue"]
            group.cost += r["cost"]
            group.hours += hours.get(r["project_id"], ZERO)
    return account, kind
