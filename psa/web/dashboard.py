"""The executive dashboard: the spine's numbers by month and the operating KPIs, from stored period balances
and grouped aggregates. A fixed number of queries whatever the data size (tests/web/test_dashboard.py counts
them at two sizes); nothing loops over time entries or journal lines.

Each figure is defined once, with its formula, in psa.core.kpis (the page shows those formulas); amounts are in
the functional currency (invoices in other currencies are left out of the monthly billed series and DSO, never
added unconverted). `Dashboard.currencies` adds, for the range, billed and weighted pipeline per currency with
their functional total at the rates of the range end (psa.core.totals: named, dated rates; no total when a
rate is missing).
- revenue, GL cost of services, collected (cash debits), write-offs, AR and unbilled receivable at month end: the
  ledger (`ledger.selectors.movements` reads closed months' stored balances and only the open months' lines; the
  opening balances come from `cumulative`).
- project margin: `ledger.selectors.margin.project_margin_by_month`, the margin report's one definition (GL
  revenue - GL project cost on the project dimension, all entities with intercompany eliminated) by month.
- backlog: `ledger.selectors.revenue.backlog`, the backlog report's definition.
- billed: issued invoices less credit notes by issue month (net; gross for DSO).
- weighted pipeline: crm's forecast; utilization: projects' utilization by month.
- deal close to kickoff, invoice cycle time, approved-but-unbilled age, write-off rate, forecast accuracy and
  revenue leakage: `_kpis` below, as psa.core.kpis defines them.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, DurationField, ExpressionWrapper, F, Min, Q, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from billing.choices import InvoiceKind, InvoiceStatus, SourceKind
from billing.models import CapWriteDown, Invoice, SourceLink
from billing.selectors import time_summary
from crm.models import Opportunity
from crm.selectors import WEIGHTED, forecast_by_month
from ledger.choices import FUNCTIONAL_CURRENCY, SystemAccount
from ledger.models import AccountingPeriod
from ledger.selectors import cumulative, movements
from ledger.selectors.margin import project_margin_by_month
from ledger.selectors.revenue import backlog as backlog_by_month
from projects.choices import EntryStatus
from projects.models import Allocation, Contract, ContractLine, TimeEntry
from projects.selectors import utilization
from psa.core.dates import month_end, month_start, months_between, parse_date, weekdays_between
from psa.core.exceptions import ValidationFailed
from psa.core.money import ZERO, round_money, round_to
from psa.core.roles import Role, user_roles
from psa.core.totals import CurrencyTotals, currency_totals_many

VALUE = DecimalField(max_digits=24, decimal_places=6)
MAX_MONTHS = 36
S = SystemAccount

# What each role sees (DESIGN.md 5.10: costs and margins only for finance and admin).
SERIES_ALL = (
    "revenue", "cost", "project_margin", "billed", "collected", "write_offs", "ar", "unbilled", "dso", "backlog",
    "weighted_pipeline", "utilization", "forecast_hours", "actual_hours", "forecast_revenue",
)  # fmt: skip
MONEY_SERIES = (
    "revenue", "cost", "project_margin", "billed", "collected", "write_offs", "ar", "unbilled", "backlog",
    "weighted_pipeline", "forecast_revenue",
)  # fmt: skip
KPIS_ALL = ("kickoff", "invoice_cycle", "unbilled_age", "write_off_rate", "forecast_accuracy", "leakage")
TRIMMED = {
    Role.PROJECT_MANAGER: (
        ("backlog", "weighted_pipeline", "utilization", "billed", "unbilled", "forecast_hours", "actual_hours"),
        ("kickoff", "unbilled_age", "forecast_accuracy"),
    ),
    Role.SALES: (("backlog", "weighted_pipeline", "utilization", "billed"), ("kickoff",)),
}


def visible_for(user) -> tuple[tuple[str, ...], tuple[str, ...]]:
    roles = user_roles(user)
    if roles & {Role.FINANCE, Role.ADMIN}:
        return SERIES_ALL, KPIS_ALL
    if Role.PROJECT_MANAGER in roles:
        return TRIMMED[Role.PROJECT_MANAGER]
    if Role.SALES in roles:
        return TRIMMED[Role.SALES]
    return (), ()


def dashboard_range(*, start: str | None, end: str | None, today: date) -> tuple[date, date]:
    """The filter: whole months from `start` through `end` (ISO dates). Default: the twelve months to today.
    Refused with the field named: unparseable dates, an end before the start, more than 36 months."""
    errors: dict[str, list[str]] = {}
    parsed = {}
    for name, raw in (("start", start), ("end", end)):
        if raw in (None, ""):
            continue
        try:
            parsed[name] = parse_date(raw, field=name)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationFailed("The date range is not valid.", fields=errors)
    last = month_end(parsed.get("end", today))
    first = month_start(parsed.get("start", month_start(last) - timedelta(days=330)))
    if first > last:
        raise ValidationFailed(
            "The range ends before it starts.", fields={"end": ["The end date must be on or after the start date."]}
        )
    if len(months_between(first, last)) > MAX_MONTHS:
        raise ValidationFailed(
            f"The range spans more than {MAX_MONTHS} months.",
            fields={"start": [f"Pick at most {MAX_MONTHS} months."]},
        )
    return first, last


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    return (part * 100 / whole).quantize(Decimal("0.1")) if whole else None


@dataclass
class Dashboard:
    start: date
    end: date
    months: list[date]
    series: dict[str, list]
    kpis: dict[str, dict]
    currencies: dict[str, CurrencyTotals] = field(default_factory=dict)
    # the approved-time summary's last refresh; when current, approved hours by month and the unbilled age were
    # read from it, else computed from the entries just now (entries approved or billed since); None: never run
    summary: time_summary.SummaryState | None = None

    def trimmed(self, series: tuple[str, ...], kpis: tuple[str, ...]) -> "Dashboard":
        return Dashboard(
            self.start,
            self.end,
            self.months,
            {k: v for k, v in self.series.items() if k in series},
            {k: v for k, v in self.kpis.items() if k in kpis},
            {k: v for k, v in self.currencies.items() if k in series},
            self.summary,
        )

    def from_first_data(self, *, keep: int = 3) -> "Dashboard":
        """The months from the first one with any figure on (at most `keep` months before the end): the default
        range does not spend half the chart on the months before the firm's data. The KPIs are the range's."""
        first = next(
            (i for i in range(len(self.months)) if any(values[i] for values in self.series.values())),
            len(self.months),
        )
        cut = max(0, min(first, len(self.months) - keep))
        if cut == 0:
            return self
        return Dashboard(
            self.months[cut],
            self.end,
            self.months[cut:],
            {k: v[cut:] for k, v in self.series.items()},
            self.kpis,
            self.currencies,
            self.summary,
        )


def _ledger_by_month(start: date, end: date, months: list[date]):
    """{system role: {month: (debit, credit)}} moved in the range, and {system role: balance} before it."""
    periods = dict(AccountingPeriod.objects.filter(start__gte=start, end__lte=end).values_list("pk", "start"))
    moved = movements(start=start, end=end, group=("account__system_role", "period"))
    by_role: dict[str, dict[date, list[Decimal]]] = defaultdict(lambda: {m: [ZERO, ZERO] for m in months})
    for (role, period_id), (d, c) in moved.items():
        month = periods.get(period_id)
        if role and month in by_role[role]:
            by_role[role][month][0] += d
            by_role[role][month][1] += c
    opening = {
        role: d - c
        for (role,), (d, c) in cumulative(at=start - timedelta(days=1), group=("account__system_role",)).items()
        if role
    }
    return by_role, opening


def _running(opening: Decimal, flows: list[Decimal]) -> list[Decimal]:
    out, total = [], opening
    for f in flows:
        total += f
        out.append(total)
    return out


def executive_dashboard(*, start: date, end: date) -> Dashboard:
    months = months_between(start, end)
    ledger, opening = _ledger_by_month(start, end, months)

    def debit_less_credit(role) -> list[Decimal]:
        return [ledger[role][m][0] - ledger[role][m][1] for m in months]

    revenue = [
        -(a + b)
        for a, b in zip(debit_less_credit(S.SERVICES_REVENUE), debit_less_credit(S.REIMBURSEMENT_REVENUE), strict=True)
    ]
    cost = debit_less_credit(S.COST_OF_SERVICES)
    collected = [ledger[S.CASH][m][0] for m in months]
    write_offs = debit_less_credit(S.WRITE_OFFS)
    ar = _running(opening.get(S.RECEIVABLE, ZERO), debit_less_credit(S.RECEIVABLE))
    unbilled = _running(opening.get(S.UNBILLED, ZERO), debit_less_credit(S.UNBILLED))

    # billed: invoices less credit notes, net and gross, by issue month (2 months before the range for DSO)
    dso_from = month_start(start - timedelta(days=62))
    billed_rows = (
        Invoice.objects.filter(
            currency=FUNCTIONAL_CURRENCY, issue_date__gte=dso_from, issue_date__lte=end, number__isnull=False
        )
        .exclude(status__in=[InvoiceStatus.DRAFT, InvoiceStatus.CANCELLED])
        .annotate(month=TruncMonth("issue_date"))
        .values("month")
        .annotate(
            # a retainage release bills no new net (it moves retainage already invoiced to AR)
            net=Sum("net_total", filter=Q(kind=InvoiceKind.INVOICE, retainage_release=False)),
            net_cn=Sum("net_total", filter=Q(kind=InvoiceKind.CREDIT_NOTE, retainage_release=False)),
            gross=Sum("gross_total", filter=Q(kind=InvoiceKind.INVOICE)),
            gross_cn=Sum("gross_total", filter=Q(kind=InvoiceKind.CREDIT_NOTE)),
        )
        .order_by("month")
    )
    billed_net, billed_gross = {}, {}
    for r in billed_rows:
        m = r["month"] if isinstance(r["month"], date) else r["month"].date()
        # SQLite sums decimals with more places than the columns have: every amount is rounded once, here
        billed_net[m] = round_money((r["net"] or ZERO) - (r["net_cn"] or ZERO))
        billed_gross[m] = round_money((r["gross"] or ZERO) - (r["gross_cn"] or ZERO))
    billed = [billed_net.get(m, ZERO) for m in months]

    dso = []
    for i, m in enumerate(months):
        previous = month_start(m - timedelta(days=1))
        window = [month_start(previous - timedelta(days=1)), previous, m]
        gross = sum((billed_gross.get(w, ZERO) for w in window), ZERO)
        days = (month_end(m) - window[0]).days + 1
        dso.append((ar[i] * days / gross).quantize(Decimal("0.1")) if gross > 0 else None)

    backlog = [r["backlog"] for r in backlog_by_month(start=start, end=end, currency=FUNCTIONAL_CURRENCY)]
    margin = project_margin_by_month(start=start, end=end)

    pipeline = {
        (r["month"].date() if hasattr(r["month"], "date") else r["month"]): r["weighted"] or ZERO
        for r in forecast_by_month(
            Opportunity.objects.filter(
                currency=FUNCTIONAL_CURRENCY, expected_close_date__gte=start, expected_close_date__lte=end
            )
        )
    }
    state = time_summary.summary_state()
    summary = state if state is not None and state.current else None
    actuals = time_summary.hours_by_month(start=start, end=end) if summary else None
    util_rows = {r.key: r for r in utilization(start=start, end=end, by="month", actuals=actuals)}
    util = [util_rows[str(m)].utilization if str(m) in util_rows else None for m in months]
    actual_hours = [
        (util_rows[str(m)].billable + util_rows[str(m)].non_billable) if str(m) in util_rows else ZERO for m in months
    ]

    forecast_hours = _allocation_plan(start, end, months)
    forecast_revenue = _contract_plan(start, end, months)

    series = {
        "revenue": revenue,
        "cost": cost,
        "project_margin": [margin.get(m, ZERO) for m in months],
        "billed": billed,
        "collected": collected,
        "write_offs": write_offs,
        "ar": ar,
        "unbilled": unbilled,
        "dso": dso,
        "backlog": backlog,
        "weighted_pipeline": [pipeline.get(m, ZERO) for m in months],
        "utilization": util,
        "forecast_hours": forecast_hours,
        "actual_hours": actual_hours,
        "forecast_revenue": forecast_revenue,
    }
    for key in MONEY_SERIES:
        series[key] = [round_money(v) for v in series[key]]
    kpis = _kpis(start, end, months, series, billed_gross, summary)
    return Dashboard(start, end, months, series, kpis, _by_currency(start, end), state)


def _by_currency(start: date, end: date) -> dict[str, CurrencyTotals]:
    """Billed (net of credit notes) and weighted pipeline over the range in every currency, each with its total
    in the functional currency at the rates of the range end (today when the range ends later). Three queries."""
    billed = (
        Invoice.objects.filter(issue_date__gte=start, issue_date__lte=end, number__isnull=False)
        .exclude(status__in=[InvoiceStatus.DRAFT, InvoiceStatus.CANCELLED])
        .values("currency")
        .annotate(
            net=Coalesce(Sum("net_total", filter=Q(kind=InvoiceKind.INVOICE)), ZERO),
            net_cn=Coalesce(Sum("net_total", filter=Q(kind=InvoiceKind.CREDIT_NOTE)), ZERO),
        )
        .order_by()
    )
    pipeline = (
        Opportunity.objects.filter(status="open", expected_close_date__gte=start, expected_close_date__lte=end)
        .values("currency")
        .annotate(weighted=Sum(WEIGHTED))
        .order_by()
    )
    return currency_totals_many(
        {
            "billed": [(r["currency"], round_money(r["net"] - r["net_cn"])) for r in billed],
            "weighted_pipeline": [(r["currency"], r["weighted"] or ZERO) for r in pipeline],
        },
        on=min(end, timezone.localdate()),
    )


def _allocation_plan(start: date, end: date, months: list[date]) -> list[Decimal]:
    rows = Allocation.objects.filter(start_date__lte=end, end_date__gte=start).values_list(
        "hours_per_week", "start_date", "end_date"
    )
    plan = dict.fromkeys(months, ZERO)
    for hpw, a, b in rows:
        for m in months:
            n = weekdays_between(max(a, m), min(b, month_end(m)))
            if n:
                plan[m] += hpw * n / 5
    return [plan[m].quantize(Decimal("0.01")) for m in months]


def _contract_plan(start: date, end: date, months: list[date]) -> list[Decimal]:
    rows = ContractLine.objects.filter(
        start_date__lte=end, end_date__gte=start, contract__currency=FUNCTIONAL_CURRENCY
    ).values_list("price", "start_date", "end_date")
    plan = dict.fromkeys(months, ZERO)
    for price, a, b in rows:
        total = weekdays_between(a, b)
        if not total:
            continue
        for m in months:
            n = weekdays_between(max(a, m), min(b, month_end(m)))
            if n:
                plan[m] += price * n / total
    return [round_money(plan[m]) for m in months]


def _accuracy(actual: Decimal, forecast: Decimal) -> Decimal | None:
    if not forecast:
        return None
    return max(Decimal("0.0"), (100 - abs(actual - forecast) * 100 / forecast).quantize(Decimal("0.1")))


def _kpis(start, end, months, series, billed_gross, summary: time_summary.SummaryState | None) -> dict[str, dict]:
    # deal close -> first approved hour, deals won in the range
    won = Contract.objects.filter(
        opportunity__closed_at__date__gte=start, opportunity__closed_at__date__lte=end
    ).values(
        "opportunity__closed_at",
        first=Min("project__time_entries__date", filter=Q(project__time_entries__status=EntryStatus.APPROVED)),
    )
    days = [(r["first"] - timezone.localdate(r["opportunity__closed_at"])).days for r in won if r["first"]]
    waiting = sum(1 for r in won if not r["first"])
    kickoff = {
        "average_days": round_to(Decimal(sum(days)) / len(days), Decimal("0.1")) if days else None,
        "deals": len(days),
        "waiting": waiting,
        "started_before_close": sum(1 for d in days if d < 0),
    }

    cycle = (
        Invoice.objects.filter(
            kind=InvoiceKind.INVOICE, issue_date__gte=start, issue_date__lte=end, period_end__isnull=False
        )
        .exclude(status__in=[InvoiceStatus.DRAFT, InvoiceStatus.CANCELLED])
        .aggregate(
            n=Count("id"),
            avg=Sum(
                ExpressionWrapper(
                    F("issue_date") - Coalesce("run__period_end", "period_end"), output_field=DurationField()
                )
            ),
        )
    )
    invoice_cycle = {
        "average_days": (Decimal(cycle["avg"].days + cycle["avg"].seconds / 86400) / cycle["n"]).quantize(
            Decimal("0.1")
        )
        if cycle["n"] and cycle["avg"] is not None
        else None,
        "invoices": cycle["n"],
    }

    value = ExpressionWrapper(F("hours") * F("bill_rate"), output_field=VALUE)
    buckets = {
        "0-30": (end - timedelta(days=30), end),
        "31-60": (end - timedelta(days=60), end - timedelta(days=31)),
        "61-90": (end - timedelta(days=90), end - timedelta(days=61)),
        "90+": (date(1900, 1, 1), end - timedelta(days=91)),
    }
    if summary:
        agg = time_summary.unbilled_age(end=end, buckets=buckets)
    else:
        unbilled_qs = TimeEntry.objects.filter(status=EntryStatus.APPROVED, billable=True, date__lte=end).exclude(
            pk__in=_billed_time_ids()
        )
        agg = unbilled_qs.aggregate(
            n=Count("id"),
            **{f"b{i}": Sum(value, filter=Q(date__gte=a, date__lte=b)) for i, (a, b) in enumerate(buckets.values())},
        )
    unbilled_age = {
        "entries": agg["n"],
        "buckets": {k: round_money(agg[f"b{i}"] or ZERO) for i, k in enumerate(buckets)},
    }
    unbilled_age["total"] = sum(unbilled_age["buckets"].values(), ZERO)

    gross = sum((billed_gross.get(m, ZERO) for m in months), ZERO)
    written = sum(series["write_offs"], ZERO)
    write_off_rate = {"rate": _pct(written, gross), "written_off": written, "billed_gross": gross}

    per_month = [
        {
            "month": m,
            "hours": _accuracy(series["actual_hours"][i], series["forecast_hours"][i]),
            "revenue": _accuracy(series["revenue"][i], series["forecast_revenue"][i]),
        }
        for i, m in enumerate(months)
    ]
    capped_rows = CapWriteDown.objects.filter(created_at__date__gte=start, created_at__date__lte=end)
    capped = round_money(capped_rows.aggregate(s=Sum("amount"))["s"] or ZERO)
    aged = unbilled_age["buckets"]["61-90"] + unbilled_age["buckets"]["90+"]
    leakage = {"capped": capped, "written_off": written, "aged_unbilled": aged, "total": capped + written + aged}
    return {
        "kickoff": kickoff,
        "invoice_cycle": invoice_cycle,
        "unbilled_age": unbilled_age,
        "write_off_rate": write_off_rate,
        "forecast_accuracy": {"months": per_month},
        "leakage": leakage,
    }


def _billed_time_ids():
    return SourceLink.objects.filter(kind=SourceKind.TIME_ENTRY, released_at__isnull=True).values("source_id")
