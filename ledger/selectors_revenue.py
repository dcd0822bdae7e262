"""Revenue reports: revenue by method/client/project/month, the contract asset/liability roll-forward, backlog by
month, project margin and the revenue forecast. Each is a handful of grouped queries, whatever the data size.

The roll-forward and the margin's revenue are read from journal lines (the GL is the truth): per project, the
contract position is unbilled receivable (debit) minus deferred revenue (credit); invoices and credit notes move
it by their `invoice:` entries, recognition by its `recognition` entries. Closing = opening - billed +
recognised + other, and the total closing equals the GL balance of the two accounts to the cent.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Case, DecimalField, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce, Round

from crm.models import Opportunity
from ledger.choices import AccountType, RecognitionMethod, SystemAccount
from ledger.models import JournalLine
from ledger.models_revenue import Recognition, RevenueSchedule, RevenueScheduleLine
from ledger.selectors import cumulative
from ledger.services.periods import month_end, month_start, next_month
from projects.models import ContractLine, Expense, Milestone, Project, TimeEntry
from psa.core.money import ZERO, round_money, split_evenly

MONEY = DecimalField(max_digits=18, decimal_places=2)
POSITION = [SystemAccount.UNBILLED, SystemAccount.DEFERRED]


def _sum(expression, condition: Q | None = None):
    if condition is not None:
        expression = Case(When(condition, then=expression), default=Value(ZERO), output_field=MONEY)
    return Coalesce(Sum(expression, output_field=MONEY), Value(ZERO), output_field=MONEY)


def months_between(start: date, end: date) -> list[date]:
    months, month = [], month_start(start)
    while month <= end:
        months.append(month)
        month = next_month(month)
    return months


# --- revenue by ---------------------------------------------------------------------------------------------

REVENUE_GROUPS = {
    "method": "schedule__method",
    "client": "schedule__client__name",
    "project": "schedule__project__code",
    "month": "period__start",
}


@dataclass
class RevenueBy:
    by: str
    rows: list[dict]
    total: Decimal
    gl_total: Decimal

    @property
    def reconciles(self) -> bool:
        return self.total == self.gl_total


def revenue_by(
    *, start: date, end: date, by: str = "method", client_id: int | None = None, project_id: int | None = None
) -> RevenueBy:
    """Recognised revenue posted in the months of [start, end], grouped; with the GL's recognition revenue in the
    same months for the reconciliation."""
    key = REVENUE_GROUPS.get(by, REVENUE_GROUPS["method"])
    rows = Recognition.objects.filter(period__start__gte=month_start(start), period__start__lte=end)
    gl = JournalLine.objects.filter(
        entry__source="recognition",
        account__type=AccountType.INCOME,
        date__gte=month_start(start),
        date__lte=month_end(end),
    )
    if client_id:
        rows, gl = rows.filter(schedule__client_id=client_id), gl.filter(client_id=client_id)
    if project_id:
        rows, gl = rows.filter(schedule__project_id=project_id), gl.filter(project_id=project_id)
    grouped = list(rows.values(key).annotate(amount=_sum(F("amount"))).order_by(key))
    labels = dict(RecognitionMethod.choices)
    out = [
        {
            "key": r[key],
            "label": labels.get(r[key], r[key]) if by == "method" else (f"{r[key]:%Y-%m}" if by == "month" else r[key]),
            "amount": r["amount"],
        }
        for r in grouped
    ]
    gl_total = gl.aggregate(v=_sum(F("credit") - F("debit")))["v"]
    return RevenueBy(by=by, rows=out, total=sum((r["amount"] for r in out), ZERO), gl_total=gl_total)


# --- roll-forward -------------------------------------------------------------------------------------------


@dataclass
class RollForward:
    start: date
    end: date
    rows: list[dict]
    totals: dict
    gl_closing: Decimal  # unbilled - deferred in the GL through `end`, for the same client and project filter

    @property
    def reconciles(self) -> bool:
        return self.totals["closing"] == self.gl_closing and all(
            r["opening"] - r["billed"] + r["recognised"] + r["other"] == r["closing"] for r in self.rows
        )


def rollforward(*, start: date, end: date, client_id: int | None = None, project_id: int | None = None) -> RollForward:
    """Per project: opening position, billed (net of credit notes), recognised, other, closing; closing split
    into unbilled receivable (contract asset) and deferred revenue (contract liability)."""
    dimensions = Q()
    if client_id:
        dimensions &= Q(client_id=client_id)
    if project_id:
        dimensions &= Q(project_id=project_id)
    lines = JournalLine.objects.filter(dimensions, account__system_role__in=POSITION, date__lte=end)
    # The GL side reads the ledger's balances as every ledger report does (the last closed month's stored
    # cumulative rows plus the lines after it), restricted to the same client and project as the rows.
    gl = cumulative(at=end, group=("account",), filters=dimensions & Q(account__system_role__in=POSITION))
    gl_closing = sum((debit - credit for debit, credit in gl.values()), ZERO)
    amount = F("debit") - F("credit")
    in_range = Q(date__gte=start)
    invoice = Q(entry__source__startswith="invoice:")
    recognition = Q(entry__source="recognition")
    rows = list(
        lines.values("project_id", "project__code", "project__name", "client__name")
        .annotate(
            opening=_sum(amount, Q(date__lt=start)),
            billed=_sum(F("credit") - F("debit"), in_range & invoice),
            recognised=_sum(amount, in_range & recognition),
            other=_sum(amount, in_range & ~invoice & ~recognition),
            closing=_sum(amount),
            unbilled=_sum(amount, Q(account__system_role=SystemAccount.UNBILLED)),
            deferred=_sum(F("credit") - F("debit"), Q(account__system_role=SystemAccount.DEFERRED)),
        )
        .order_by("project__code")
    )
    names = ("opening", "billed", "recognised", "other", "closing", "unbilled", "deferred")
    totals = {n: sum((r[n] for r in rows), ZERO) for n in names}
    return RollForward(start=start, end=end, rows=rows, totals=totals, gl_closing=gl_closing)


# --- backlog ------------------------------------------------------------------------------------------------


def backlog(*, start: date, end: date, client_id: int | None = None) -> list[dict]:
    """Per month end: contracted (Σ prices of lines on contracts signed by then) - recognised through then."""
    lines = ContractLine.objects.all()
    recs = Recognition.objects.all()
    if client_id:
        lines, recs = lines.filter(contract__account_id=client_id), recs.filter(schedule__client_id=client_id)
    signed = list(lines.values_list("contract__signed_at", "price"))
    recognised = list(recs.values("period__start").annotate(v=_sum(F("amount"))).values_list("period__start", "v"))
    out = []
    for month in months_between(start, end):
        last = month_end(month)
        contracted = sum((p for at, p in signed if at.date() <= last), ZERO)
        done = sum((v for m, v in recognised if m <= month), ZERO)
        out.append({"month": month, "contracted": contracted, "recognised": done, "backlog": contracted - done})
    return out


# --- margin -------------------------------------------------------------------------------------------------


@dataclass
class Margin:
    rows: list[dict]
    totals: dict
    gl_revenue: Decimal  # income on the project dimension in the GL over the same dates

    @property
    def reconciles(self) -> bool:
        return self.totals["revenue"] == self.gl_revenue


def project_margin(*, start: date, end: date, client_id: int | None = None) -> Margin:
    """Per project: revenue (GL income with the project dimension) - approved time at snapshot cost - approved
    expenses, over [start, end]."""
    revenue_lines = JournalLine.objects.filter(
        account__type=AccountType.INCOME, project__isnull=False, date__gte=start, date__lte=end
    )
    time = TimeEntry.objects.filter(status="approved", date__gte=start, date__lte=end)
    expenses = Expense.objects.filter(status="approved", date__gte=start, date__lte=end)
    projects = Project.objects.all()
    if client_id:
        revenue_lines = revenue_lines.filter(client_id=client_id)
        time, expenses = time.filter(project__account_id=client_id), expenses.filter(project__account_id=client_id)
        projects = projects.filter(account_id=client_id)
    revenue = dict(
        revenue_lines.values("project_id").annotate(v=_sum(F("credit") - F("debit"))).values_list("project_id", "v")
    )
    cost = dict(
        time.values("project_id")
        .annotate(v=_sum(Round(F("hours") * Coalesce(F("cost_rate"), Value(ZERO)), 2)))
        .values_list("project_id", "v")
    )
    spent = dict(expenses.values("project_id").annotate(v=_sum(F("amount"))).values_list("project_id", "v"))
    ids = sorted(set(revenue) | set(cost) | set(spent))
    info = {p.pk: p for p in projects.filter(pk__in=ids).select_related("account")}
    rows = []
    for pk in ids:
        if pk not in info:
            continue
        r, c, e = revenue.get(pk, ZERO), cost.get(pk, ZERO), spent.get(pk, ZERO)
        margin = r - c - e
        rows.append(
            {
                "project_id": pk,
                "project": f"{info[pk].code} {info[pk].name}",
                "client": info[pk].account.name,
                "revenue": r,
                "time_cost": c,
                "expenses": e,
                "margin": margin,
                "margin_pct": round(margin * 100 / r, 1) if r else None,
            }
        )
    totals = {n: sum((row[n] for row in rows), ZERO) for n in ("revenue", "time_cost", "expenses", "margin")}
    gl_revenue = sum((v for pk, v in revenue.items() if pk in info), ZERO)
    return Margin(rows=rows, totals=totals, gl_revenue=gl_revenue)


# --- forecast -----------------------------------------------------------------------------------------------


@dataclass
class Forecast:
    months: list[date]
    recognised: list[Decimal] = field(default_factory=list)
    scheduled: list[Decimal] = field(default_factory=list)
    pipeline: list[Decimal] = field(default_factory=list)

    @property
    def totals(self) -> list[Decimal]:
        return [a + b + c for a, b, c in zip(self.recognised, self.scheduled, self.pipeline, strict=True)]


def revenue_forecast(*, start: date, end: date, today: date) -> Forecast:
    """Per month: recognised (revenue posted by recognition), scheduled (what contracts will recognise in the
    months after the last recognised one: straight-line plans, milestones by due date, the rest of fixed-fee lines
    spread over their remaining months) and weighted pipeline (open deals x probability over their service
    months)."""
    months = months_between(start, end)
    index = {m: i for i, m in enumerate(months)}
    n = len(months)
    recognised = [ZERO] * n
    for month, value in (
        Recognition.objects.filter(period__start__in=months)
        .values("period__start")
        .annotate(v=_sum(F("amount")))
        .values_list("period__start", "v")
    ):
        recognised[index[month]] += value
    # Scheduled revenue starts after the last recognised month (months past but not yet recognised count too).
    last = Recognition.objects.order_by("-period__start").values_list("period__start", flat=True).first()
    first_future = min(next_month(today), next_month(last) if last else month_start(start))
    scheduled = [ZERO] * n
    for month, value in (
        RevenueScheduleLine.objects.filter(month__gte=first_future, month__lte=end, schedule__method="straight_line")
        .values("month")
        .annotate(v=_sum(F("amount")))
        .values_list("month", "v")
    ):
        scheduled[index[month]] += value
    for due, amount in Milestone.objects.filter(
        ~Q(status="accepted"), contract_line__isnull=False, due_date__gte=first_future, due_date__lte=end
    ).values_list("due_date", "amount"):
        scheduled[index[month_start(due)]] += amount
    for price, recognised_to_date, line_end in RevenueSchedule.objects.filter(
        method__in=[RecognitionMethod.PERCENT_HOURS, RecognitionMethod.PERCENT_COST], end__gte=first_future
    ).values_list("price", "recognised", "end"):
        remaining = price - recognised_to_date
        spread = [m for m in months_between(first_future, line_end)]
        if remaining > 0 and spread:
            for m, part in zip(spread, split_evenly(remaining, len(spread)), strict=True):
                if m in index:
                    scheduled[index[m]] += part
    pipeline = [ZERO] * n
    for amount, probability, close, s_start, s_end in Opportunity.objects.filter(status="open").values_list(
        "amount", "probability", "expected_close_date", "service_start", "service_end"
    ):
        weighted = round_money(amount * probability / 100)
        if not weighted:
            continue
        spread = months_between(s_start, s_end) if s_start and s_end else [month_start(close)]
        for m, part in zip(spread, split_evenly(weighted, len(spread)), strict=True):
            if m in index and m >= first_future:
                pipeline[index[m]] += part
    return Forecast(months=months, recognised=recognised, scheduled=scheduled, pipeline=pipeline)
