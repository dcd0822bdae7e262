"""The cash forecast: receipts and payments by week (13) and by month (12), per currency and converted into the
functional currency, with scenarios on the open pipeline.

Each source gives dated flows (`Flow`); the table sums them into buckets. The rules, one per kind, in the order of
the table:

- **Open receivables** (in): each open invoice's balance on its predicted payment date (billing.selectors.
  collections: the fitted model, conditioned on the invoice being unpaid today).
- **Billing schedules and milestones** (in): each schedule event and each milestone of a signed contract not billed
  yet (no unreleased source link) is invoiced on its billing date (`bill_on`, the milestone's due date), or today
  when that has passed, and received the contract's payment terms plus the client's expected days late later.
- **Time and materials run-rate** (in): each allocation (hard or soft) on a project with a T&M contract line is
  hours per week / 5 per weekday from today to its end (and the line's end), at the line's rate; a month's work is
  invoiced the day after the month ends and received terms plus the client's days late later.
- **Weighted pipeline** (in): each open deal's lines x its probability. Milestones on their due date; every other
  line spread over the service period in proportion to its calendar days per month (a deal without a service
  period: the three months after its expected close), invoiced at each month's end; received after the deal's
  payment terms (else the account's) plus the client's days late.
- **Vendor bills** (out): each posted, unpaid bill's open amount on its due date (today when overdue).
- **Payroll** (out): each active employee (a consultant not supplied by a vendor: subcontractors are paid through
  their bills) x weekly capacity / 5 per weekday of the month x the cost rate valid today, paid on the month's
  last day.

The client's expected days late is its shrunk mean from the payment model (the firm's mean for a new client; 0
while the firm has no payment history). Amounts are net of VAT: VAT on future billing and its payment to the tax
office are not forecast. Amounts are in the document's currency and rounded to its minor unit, flow by flow. The
converted table converts each currency's bucket sum at the rate of the forecast date (psa.core.fx: future rates are
unknown, so today's rate is the estimate); a currency without a rate is named and the converted figures are not
shown (never 1:1).
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Exists, OuterRef

from billing.choices import VENDOR_BILL_OPEN_STATUSES, CashFlowKind, SourceKind
from billing.models import ScheduleEvent, SourceLink, VendorBill
from billing.selectors.collections import Fitted, client_expected_days_late, fitted_model, open_invoice_predictions
from crm.choices import BillingModel, OpportunityStatus
from crm.models import LineMilestone, Opportunity, OpportunityLine, RoleDemand
from projects.models import Allocation, Consultant, ContractLine, CostRate, Milestone
from projects.selectors.staffing import capacity_heatmap
from psa.core.currency import functional_currency
from psa.core.dates import month_end, months_between, week_start, weekdays_between
from psa.core.fx import convert
from psa.core.money import HOURS_PLACES, ZERO, allocate, line_net, round_amount, round_to
from psa.core.totals import rates_available

WEEKS, MONTHS = 13, 12
INFLOWS = (CashFlowKind.AR, CashFlowKind.SCHEDULED, CashFlowKind.TM, CashFlowKind.PIPELINE)
OUTFLOWS = (CashFlowKind.PAYABLES, CashFlowKind.PAYROLL)
DEFAULT_SERVICE_MONTHS = 3
HUNDRED = Decimal(100)


class Flow(NamedTuple):
    on: date
    currency: str
    amount: Decimal
    kind: str
    label: str
    opportunity_id: int | None = None


# --- scenarios ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    """Changes to the open pipeline: deals left out, a deal's close date moved (its service period and milestones
    move with it), a deal's probability changed (percent)."""

    excluded: frozenset[int] = frozenset()
    close: dict[int, date] = field(default_factory=dict)
    probability: dict[int, int] = field(default_factory=dict)

    @property
    def is_base(self) -> bool:
        return not (self.excluded or self.close or self.probability)

    def as_dict(self) -> dict:
        return {
            "excluded": sorted(self.excluded),
            "close": {str(k): v.isoformat() for k, v in sorted(self.close.items())},
            "probability": {str(k): v for k, v in sorted(self.probability.items())},
        }

    @classmethod
    def from_dict(cls, data: dict) -> Scenario:
        return cls(
            excluded=frozenset(int(x) for x in data.get("excluded", [])),
            close={int(k): date.fromisoformat(v) for k, v in data.get("close", {}).items()},
            probability={int(k): int(v) for k, v in data.get("probability", {}).items()},
        )


@dataclass(frozen=True)
class Deal:
    """An open deal as the scenario sees it."""

    id: int
    name: str
    account: str
    currency: str
    amount: Decimal
    probability: int
    close: date
    shift: int  # days the scenario moved its close date
    included: bool
    base_probability: int
    base_close: date


def open_deals(scenario: Scenario | None = None) -> list[Deal]:
    """The open deals, with the scenario's changes applied. One query."""
    scenario = scenario or Scenario()
    rows = (
        Opportunity.objects.filter(status=OpportunityStatus.OPEN)
        .order_by("expected_close_date", "pk")
        .values_list("pk", "name", "account__name", "currency", "amount", "probability", "expected_close_date")
    )
    deals = []
    for pk, name, account, currency, amount, probability, close in rows:
        new_close = scenario.close.get(pk, close)
        deals.append(
            Deal(
                id=pk,
                name=name,
                account=account,
                currency=currency,
                amount=amount,
                probability=scenario.probability.get(pk, probability),
                close=new_close,
                shift=(new_close - close).days,
                included=pk not in scenario.excluded,
                base_probability=probability,
                base_close=close,
            )
        )
    return deals


# --- flows ---------------------------------------------------------------------------------------------------
def _receipt(issued: date, terms: int, late: int, as_of: date) -> date:
    return max(as_of + timedelta(days=1), issued + timedelta(days=terms + late))


def _late(lateness: dict[int, float], firm: float, account_id: int) -> int:
    return round(lateness.get(account_id, firm))


def ar_flows(*, as_of: date, fitted: Fitted) -> list[Flow]:
    return [
        Flow(r.expected_date, r.currency, r.balance, CashFlowKind.AR, f"{r.number} · {r.account}")
        for r in open_invoice_predictions(as_of=as_of, fitted=fitted)
        if r.balance > 0
    ]


def scheduled_flows(*, as_of: date, lateness: dict[int, float], firm: float) -> list[Flow]:
    """Schedule events and milestones of signed contracts not billed yet. Two queries."""
    billed = SourceLink.objects.filter(source_id=OuterRef("pk"), released_at__isnull=True)
    events = (
        ScheduleEvent.objects.filter(~Exists(billed.filter(kind=SourceKind.SCHEDULE_EVENT)))
        .order_by("bill_on", "pk")
        .values_list(
            "bill_on",
            "amount",
            "description",
            "contract_line__contract__currency",
            "contract_line__contract__payment_terms_days",
            "contract_line__contract__account_id",
            "contract_line__contract__number",
        )
    )
    milestones = (
        Milestone.objects.filter(contract_line__isnull=False)
        .filter(~Exists(billed.filter(kind=SourceKind.MILESTONE)))
        .order_by("due_date", "pk")
        .values_list(
            "due_date",
            "amount",
            "name",
            "contract_line__contract__currency",
            "contract_line__contract__payment_terms_days",
            "contract_line__contract__account_id",
            "contract_line__contract__number",
        )
    )
    flows = []
    for rows in (events, milestones):
        for bill_on, amount, name, currency, terms, account_id, number in rows:
            if not amount:
                continue
            issued = max(bill_on, as_of)
            on = _receipt(issued, terms, _late(lateness, firm, account_id), as_of)
            flows.append(Flow(on, currency, amount, CashFlowKind.SCHEDULED, f"{number} · {name}"))
    return flows


def tm_flows(*, as_of: date, until: date, lateness: dict[int, float], firm: float) -> list[Flow]:
    """Allocations on projects with a T&M contract line, at the line's rate, billed monthly. Two queries."""
    lines: dict[int, tuple] = {}
    for project_id, rate, currency, terms, account_id, start, end, number in (
        ContractLine.objects.filter(
            billing_model=BillingModel.TIME_AND_MATERIALS, rate__isnull=False, end_date__gte=as_of
        )
        .order_by("contract__project_id", "position", "pk")
        .values_list(
            "contract__project_id",
            "rate",
            "contract__currency",
            "contract__payment_terms_days",
            "contract__account_id",
            "start_date",
            "end_date",
            "contract__number",
        )
    ):
        lines.setdefault(project_id, (rate, currency, terms, account_id, start, end, number))
    allocations = (
        Allocation.objects.filter(project_id__in=list(lines), end_date__gte=as_of, start_date__lte=until)
        .order_by("pk")
        .values_list("project_id", "hours_per_week", "start_date", "end_date")
    )
    hours: dict[tuple[int, date], Decimal] = defaultdict(Decimal)
    for project_id, per_week, start, end in allocations:
        rate, currency, terms, account_id, l_start, l_end, number = lines[project_id]
        first, last = max(start, as_of, l_start), min(end, l_end, until)
        for month in months_between(first, last):
            days = weekdays_between(max(first, month), min(last, month_end(month)))
            hours[(project_id, month)] += per_week * days / 5
    flows = []
    for (project_id, month), h in sorted(hours.items()):
        rate, currency, terms, account_id, _, _, number = lines[project_id]
        amount = line_net(round_to(h, HOURS_PLACES), rate, currency)
        if amount:
            on = _receipt(month_end(month) + timedelta(days=1), terms, _late(lateness, firm, account_id), as_of)
            flows.append(Flow(on, currency, amount, CashFlowKind.TM, f"{number} · {month:%b %Y} staffed hours"))
    return flows


def _service_period(start: date | None, end: date | None, close: date) -> tuple[date, date]:
    if start and end:
        return start, end
    first = start or close
    months = months_between(first, first + timedelta(days=31 * DEFAULT_SERVICE_MONTHS))
    return first, max(first, end or month_end(months[DEFAULT_SERVICE_MONTHS - 1]))


def pipeline_flows(*, as_of: date, deals: list[Deal], lateness: dict[int, float], firm: float) -> list[Flow]:
    """The open deals' lines x probability (see the module doc). Three queries."""
    wanted = {d.id: d for d in deals if d.included and d.probability > 0}
    opportunities = {
        pk: (account_id, terms or account_terms, start, end)
        for pk, account_id, terms, account_terms, start, end in Opportunity.objects.filter(pk__in=list(wanted))
        .order_by()
        .values_list(
            "pk", "account_id", "payment_terms_days", "account__payment_terms_days", "service_start", "service_end"
        )
    }
    lines = list(
        OpportunityLine.objects.filter(opportunity_id__in=list(wanted))
        .order_by("opportunity_id", "position", "pk")
        .values_list("pk", "opportunity_id", "billing_model", "amount", "description")
    )
    milestones: dict[int, list[tuple[date, Decimal, str]]] = defaultdict(list)
    for line_id, due, amount, name in (
        LineMilestone.objects.filter(line__opportunity_id__in=list(wanted))
        .order_by("due_date", "pk")
        .values_list("line_id", "due_date", "amount", "name")
    ):
        milestones[line_id].append((due, amount, name))
    flows = []
    for line_id, opp_id, model, amount, description in lines:
        deal = wanted[opp_id]
        account_id, terms, start, end = opportunities[opp_id]
        shift = timedelta(days=deal.shift)
        late = _late(lateness, firm, account_id)
        p = Decimal(deal.probability) / HUNDRED
        label = f"{deal.name} · {description}"
        if model == BillingModel.MILESTONE and milestones.get(line_id):
            for due, m_amount, name in milestones[line_id]:
                weighted = round_amount(m_amount * p, deal.currency)
                if weighted:
                    on = _receipt(max(due + shift, as_of), terms, late, as_of)
                    flows.append(Flow(on, deal.currency, weighted, CashFlowKind.PIPELINE, f"{label} · {name}", opp_id))
            continue
        if not amount:
            continue
        first, last = _service_period(start and start + shift, end and end + shift, deal.close)
        months = months_between(first, last)
        weights = [Decimal((min(last, month_end(m)) - max(first, m)).days + 1) for m in months]
        for month, share in zip(months, allocate(amount, weights), strict=True):
            weighted = round_amount(share * p, deal.currency)
            if weighted:
                on = _receipt(month_end(month) + timedelta(days=1), terms, late, as_of)
                flows.append(
                    Flow(on, deal.currency, weighted, CashFlowKind.PIPELINE, f"{label} · {month:%b %Y}", opp_id)
                )
    return flows


def payables_flows(*, as_of: date) -> list[Flow]:
    """Posted, unpaid vendor bills on their due date (today when overdue). One query."""
    rows = (
        VendorBill.objects.filter(status__in=VENDOR_BILL_OPEN_STATUSES)
        .order_by("due_date", "pk")
        .values_list("due_date", "currency", "gross_total", "amount_paid", "number", "vendor__name")
    )
    return [
        Flow(max(due, as_of), currency, gross - paid, CashFlowKind.PAYABLES, f"{vendor} · {number}")
        for due, currency, gross, paid, number, vendor in rows
        if gross > paid
    ]


def payroll_flows(*, as_of: date, until: date) -> list[Flow]:
    """Employees' capacity x cost rate, paid at each month's end. Two queries."""
    people = list(
        Consultant.objects.filter(is_active=True, vendor__isnull=True)
        .order_by("pk")
        .values_list("pk", "weekly_capacity", "cost_currency")
    )
    rates: dict[int, Decimal] = {}
    for consultant_id, rate, valid_from in (
        CostRate.objects.filter(consultant_id__in=[p[0] for p in people])
        .order_by("consultant_id", "valid_from")
        .values_list("consultant_id", "rate", "valid_from")
    ):
        if valid_from <= as_of or consultant_id not in rates:
            rates[consultant_id] = rate
    totals: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for consultant_id, capacity, currency in people:
        cost = rates.get(consultant_id)
        if not cost:
            continue
        for month in months_between(as_of, until):
            end = month_end(month)
            if end < as_of or end > until:
                continue
            hours = round_to(capacity * weekdays_between(month, end) / 5, HOURS_PLACES)
            totals[(end, currency)] += line_net(hours, cost, currency)
    return [
        Flow(end, currency, amount, CashFlowKind.PAYROLL, f"Payroll {end:%b %Y}")
        for (end, currency), amount in sorted(totals.items())
        if amount
    ]


# --- the table -----------------------------------------------------------------------------------------------
@dataclass
class ForecastTable:
    """Buckets (start, end) x kinds, per currency and converted. `cells[currency][kind]` is one Decimal per
    bucket; `converted[kind]` the functional-currency figures (None when a currency lacks a rate)."""

    granularity: str
    buckets: list[tuple[date, date]]
    cells: dict[str, dict[str, list[Decimal]]]
    converted: dict[str, list[Decimal]] | None
    functional: str
    rates_text: str
    missing: tuple[str, ...]

    @property
    def currencies(self) -> list[str]:
        return sorted(self.cells, key=lambda c: (c != self.functional, c))

    def _sum(self, kinds: tuple[str, ...], source: dict[str, list[Decimal]]) -> list[Decimal]:
        return [
            sum((source.get(k, [ZERO] * len(self.buckets))[i] for k in kinds), ZERO) for i in range(len(self.buckets))
        ]

    def receipts(self, currency: str | None = None) -> list[Decimal] | None:
        source = self.cells.get(currency, {}) if currency else self.converted
        return None if source is None else self._sum(INFLOWS, source)

    def payments(self, currency: str | None = None) -> list[Decimal] | None:
        source = self.cells.get(currency, {}) if currency else self.converted
        return None if source is None else self._sum(OUTFLOWS, source)

    def net(self, currency: str | None = None) -> list[Decimal] | None:
        r, p = self.receipts(currency), self.payments(currency)
        return None if r is None or p is None else [a - b for a, b in zip(r, p, strict=True)]

    def cumulative(self) -> list[Decimal] | None:
        net = self.net()
        if net is None:
            return None
        out, running = [], ZERO
        for v in net:
            running += v
            out.append(running)
        return out


def buckets_for(granularity: str, as_of: date) -> list[tuple[date, date]]:
    if granularity == "week":
        first = week_start(as_of)
        return [(first + timedelta(days=7 * i), first + timedelta(days=7 * i + 6)) for i in range(WEEKS)]
    months = months_between(as_of, as_of + timedelta(days=31 * MONTHS))[:MONTHS]
    return [(m, month_end(m)) for m in months]


def tabulate(flows: list[Flow], *, granularity: str, as_of: date) -> ForecastTable:
    buckets = buckets_for(granularity, as_of)
    starts = [b[0] for b in buckets]
    cells: dict[str, dict[str, list[Decimal]]] = {}
    for flow in flows:
        if flow.on > buckets[-1][1]:
            continue
        i = max(0, bisect_right(starts, flow.on) - 1)
        row = cells.setdefault(flow.currency, {}).setdefault(flow.kind, [ZERO] * len(buckets))
        row[i] += flow.amount
    functional = functional_currency()
    rates, missing = rates_available(cells, on=as_of)
    converted: dict[str, list[Decimal]] | None = None
    if not missing:
        converted = {}
        for currency, kinds in cells.items():
            rate = rates[currency]
            for kind, values in kinds.items():
                row = converted.setdefault(kind, [ZERO] * len(buckets))
                for i, v in enumerate(values):
                    row[i] += convert(amount=v, rate=rate) if v else ZERO
    labels = [r.label for c, r in sorted(rates.items()) if r.date is not None]
    return ForecastTable(
        granularity=granularity,
        buckets=buckets,
        cells=cells,
        converted=converted,
        functional=functional,
        rates_text=", ".join(labels),
        missing=missing,
    )


@dataclass
class CashForecast:
    as_of: date
    scenario: Scenario
    deals: list[Deal]
    flows: list[Flow]
    weekly: ForecastTable
    monthly: ForecastTable

    def table(self, granularity: str) -> ForecastTable:
        return self.weekly if granularity == "week" else self.monthly


def forecast_flows(*, as_of: date, scenario: Scenario | None = None, fitted: Fitted | None = None) -> list[Flow]:
    scenario = scenario or Scenario()
    fitted = fitted or fitted_model(as_of=as_of)
    lateness, firm = client_expected_days_late(as_of=as_of, fitted=fitted)
    until = max(buckets_for("month", as_of)[-1][1], buckets_for("week", as_of)[-1][1])
    deals = open_deals(scenario)
    return [
        *ar_flows(as_of=as_of, fitted=fitted),
        *scheduled_flows(as_of=as_of, lateness=lateness, firm=firm),
        *tm_flows(as_of=as_of, until=until, lateness=lateness, firm=firm),
        *pipeline_flows(as_of=as_of, deals=deals, lateness=lateness, firm=firm),
        *payables_flows(as_of=as_of),
        *payroll_flows(as_of=as_of, until=until),
    ]


def cash_forecast(*, as_of: date, scenario: Scenario | None = None, fitted: Fitted | None = None) -> CashForecast:
    """The forecast for `as_of` under `scenario` (the base when None): flows, and the weekly and monthly tables."""
    scenario = scenario or Scenario()
    flows = forecast_flows(as_of=as_of, scenario=scenario, fitted=fitted)
    return CashForecast(
        as_of=as_of,
        scenario=scenario,
        deals=open_deals(scenario),
        flows=flows,
        weekly=tabulate(flows, granularity="week", as_of=as_of),
        monthly=tabulate(flows, granularity="month", as_of=as_of),
    )


# --- staffing gap ----------------------------------------------------------------------------------------------
@dataclass
class StaffingGap:
    weeks: list[date]
    rows: list[dict]  # {"role", "bench": [..], "base": [..], "scenario": [..], "gap": [..]}


def _spread(hours: Decimal, start: date, end: date, week: date) -> Decimal:
    lo, hi = max(week, start), min(week + timedelta(days=6), end)
    if hi < lo:
        return ZERO
    return hours * Decimal((hi - lo).days + 1) / Decimal((end - start).days + 1)


def staffing_gap(*, as_of: date, deals: list[Deal], weeks: int = WEEKS) -> StaffingGap:
    """Per role and week: free capacity (capacity less time off less hard and soft bookings) against the open
    deals' role demand x probability, for the base pipeline and for the scenario (close-date shifts move the
    demand, left-out deals drop it). gap = free - scenario demand (negative: people to find)."""
    week_list, heat = capacity_heatmap(start=as_of, weeks=weeks)
    bench: dict[str, list[Decimal]] = {}
    for row in heat:
        if row.consultant is None:
            continue
        cells = bench.setdefault(row.consultant.role.name, [ZERO] * weeks)
        for i, cell in enumerate(row.cells):
            cells[i] += max(ZERO, cell["capacity"] - cell["hard"] - cell["soft"])
    by_id = {d.id: d for d in deals}
    base: dict[str, list[Decimal]] = {}
    scen: dict[str, list[Decimal]] = {}
    for opp_id, role, hours, start, end in (
        RoleDemand.objects.filter(line__opportunity_id__in=list(by_id))
        .order_by("pk")
        .values_list("line__opportunity_id", "role__name", "hours", "start_date", "end_date")
    ):
        deal = by_id[opp_id]
        b = base.setdefault(role, [ZERO] * weeks)
        s = scen.setdefault(role, [ZERO] * weeks)
        shift = timedelta(days=deal.shift)
        for i, wk in enumerate(week_list):
            b[i] += _spread(hours * deal.base_probability / HUNDRED, start, end, wk)
            if deal.included:
                s[i] += _spread(hours * deal.probability / HUNDRED, start + shift, end + shift, wk)
    rows = []
    tenth = Decimal("0.1")
    for role in sorted(set(bench) | set(base)):
        free = bench.get(role, [ZERO] * weeks)
        b, s = base.get(role, [ZERO] * weeks), scen.get(role, [ZERO] * weeks)
        rows.append(
            {
                "role": role,
                "bench": [round_to(x, tenth) for x in free],
                "base": [round_to(x, tenth) for x in b],
                "scenario": [round_to(x, tenth) for x in s],
                "gap": [round_to(f - x, tenth) for f, x in zip(free, s, strict=True)],
            }
        )
    return StaffingGap(weeks=week_list, rows=rows)
