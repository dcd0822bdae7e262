"""Revenue reports: revenue by method/client/project/month, the contract asset/liability roll-forward, backlog by
month, the month-end figures and the revenue forecast (project margin: ledger.selectors.margin). Each is a
handful of grouped queries, whatever the data size.

The roll-forward and the margin's revenue are read from journal lines (the GL is the truth): per project, the
contract position is unbilled receivable (debit) minus deferred revenue (credit); invoices and credit notes move
it by their `invoice:` entries, recognition by its `recognition` entries. Closing = opening - billed +
recognised + exchange + other, and the total closing equals the GL balance of the two accounts to the cent.

A contract in a foreign currency (IFRIC 22, ledger.services.contract_position): every figure above is the
functional value booked; each row also carries the contract's currency and the position in it (`closing_currency`
= unbilled - deferred in that currency, which invariant 7 ties to recognised - invoiced in the same currency).
`billed` is what the invoices moved the position by (a relieved side leaves at its booked value; the invoice's
realised exchange difference is on the exchange accounts, not the position). `exchange` is the netting of the
two sides (ledger.services.contract_position.contract_positions_net): each side leaves at its booked value, so a
foreign contract's netting moves the position by the exchange difference it realises (0 for a contract in the
functional currency).
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Case, DecimalField, F, Max, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from crm.models import Opportunity
from ledger.choices import AccountType, RecognitionMethod, SystemAccount
from ledger.models import JournalLine, PriceReduction, Recognition, RevenueSchedule, RevenueScheduleLine
from ledger.selectors.books import cumulative
from ledger.selectors.margin import project_margin_total
from projects.models import ContractLine, Milestone
from psa.core.currency import functional_currency
from psa.core.dates import month_end, month_start, months_between, next_month
from psa.core.money import ZERO, round_money, split_evenly
from psa.core.totals import CurrencyTotals, currency_totals

MONEY = DecimalField(max_digits=18, decimal_places=2)
CURRENCY = "schedule__contract_line__contract__currency"  # a recognition's amount is in its contract's currency
POSITION = [SystemAccount.UNBILLED, SystemAccount.DEFERRED]


def _sum(expression: Any, condition: Q | None = None) -> Coalesce:
    if condition is not None:
        expression = Case(When(condition, then=expression), default=Value(ZERO), output_field=MONEY)
    return Coalesce(Sum(expression, output_field=MONEY), Value(ZERO), output_field=MONEY)


def price_reductions(project_ids: list[int], as_of: date) -> dict[int, Decimal]:
    """Σ price cuts per project dated on or before `as_of` (ledger.models.PriceReduction, recorded by billing when
    it issues a price-cutting credit note). One aggregate query."""
    rows = (
        PriceReduction.objects.filter(project_id__in=project_ids, on__lte=as_of)
        .values("project_id")
        .annotate(total=Sum("amount"))
        .order_by()
    )
    return {r["project_id"]: r["total"] for r in rows}


# --- revenue by ---------------------------------------------------------------------------------------------

REVENUE_GROUPS = {
    "method": "schedule__method",
    "client": "schedule__client__name",
    "project": "schedule__project__code",
    "month": "period__start",
}


@dataclass
class RevenueBy:
    """Rows per group and contract currency; `totals` per currency and in the functional currency at the rates of
    the report's end; `gl_total` is the GL's recognition income (functional amounts, no conversion) and
    `gl_by_currency` the same lines in their transaction currencies, which the rows reconcile to currency by
    currency."""

    by: str
    rows: list[dict]
    totals: CurrencyTotals
    gl_total: Decimal
    gl_by_currency: dict[str, Decimal] = field(default_factory=dict)

    @property
    def total(self) -> Decimal | None:
        return self.totals.total

    @property
    def functional(self) -> str:
        return self.totals.functional

    @property
    def reconciles(self) -> bool:
        ours = {line.currency: line.amount for line in self.totals.lines if line.amount}
        return ours == {c: v for c, v in self.gl_by_currency.items() if v}


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
    grouped = list(rows.values(key, CURRENCY).annotate(amount=_sum(F("amount"))).order_by(key, CURRENCY))
    labels = dict(RecognitionMethod.choices)
    out = [
        {
            "key": r[key],
            "label": labels.get(r[key], r[key]) if by == "method" else (f"{r[key]:%Y-%m}" if by == "month" else r[key]),
            "amount": r["amount"],
            "currency": r[CURRENCY],
        }
        for r in grouped
    ]
    gl_total = gl.aggregate(v=_sum(F("credit") - F("debit")))["v"]
    signed = Case(When(credit__gt=0, then=F("amount_currency")), default=-F("amount_currency"), output_field=MONEY)
    gl_by_currency = dict(gl.values("currency").annotate(v=_sum(signed)).values_list("currency", "v").order_by())
    totals = currency_totals([(r["currency"], r["amount"]) for r in out], on=min(end, timezone.localdate()))
    return RevenueBy(by=by, rows=out, totals=totals, gl_total=gl_total, gl_by_currency=gl_by_currency)


# --- roll-forward -------------------------------------------------------------------------------------------


@dataclass
class RollForward:
    start: date
    end: date
    rows: Sequence[Mapping[str, Any]]
    totals: dict
    gl_closing: Decimal  # unbilled - deferred in the GL through `end`, for the same client and project filter

    @property
    def reconciles(self) -> bool:
        return self.totals["closing"] == self.gl_closing and all(
            r["opening"] - r["billed"] + r["recognised"] + r["exchange"] + r["other"] == r["closing"] for r in self.rows
        )


def rollforward(
    *,
    start: date,
    end: date,
    client_id: int | None = None,
    project_id: int | None = None,
    entity_id: int | None = None,
) -> RollForward:
    """Per project: opening position, billed (net of credit notes), recognised, exchange differences (netting a
    foreign contract's two sides), other, closing; closing split into unbilled receivable (contract asset) and
    deferred revenue (contract liability); and the contract's currency with the closing position in it. Of one
    legal entity's books, or of all entities together."""
    dimensions = Q()
    if entity_id:
        dimensions &= Q(entity_id=entity_id)
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
    netting = Q(entry__idempotency_key__startswith="revrec-net:")
    recognition = Q(entry__source="recognition") & ~netting
    in_currency = Case(When(debit__gt=0, then=F("amount_currency")), default=-F("amount_currency"), output_field=MONEY)
    rows: Sequence[Mapping[str, Any]] = list(
        lines.values("project_id", "project__code", "project__name", "client__name")
        .annotate(
            opening=_sum(amount, Q(date__lt=start)),
            billed=_sum(F("credit") - F("debit"), in_range & invoice),
            recognised=_sum(amount, in_range & recognition),
            exchange=_sum(amount, in_range & netting),
            other=_sum(amount, in_range & ~invoice & ~recognition & ~netting),
            closing=_sum(amount),
            unbilled=_sum(amount, Q(account__system_role=SystemAccount.UNBILLED)),
            deferred=_sum(F("credit") - F("debit"), Q(account__system_role=SystemAccount.DEFERRED)),
            currency=Max("currency"),
            closing_currency=_sum(in_currency),
        )
        .order_by("project__code")
    )
    names = ("opening", "billed", "recognised", "exchange", "other", "closing", "unbilled", "deferred")
    totals = {n: sum((r[n] for r in rows), ZERO) for n in names}
    return RollForward(start=start, end=end, rows=rows, totals=totals, gl_closing=gl_closing)


# --- backlog ------------------------------------------------------------------------------------------------


def backlog(*, start: date, end: date, client_id: int | None = None, currency: str | None = None) -> list[dict]:
    """Per month end, the one definition of backlog (psa.core.kpis "backlog"): for each line of a contract
    signed by then, max(0, price - revenue recognised on that line through the month). `contracted` is the sum of
    those lines' prices, `recognised` what was recognised on them. Revenue of a contract not yet signed, or of no
    contract at all (a manual entry), takes nothing off; a line delivered beyond its price counts 0, never less.
    One row per month and contract currency (amounts are never added across currencies).
    Two grouped queries; the loop is over contract lines x months, never over time or journal lines."""
    lines = ContractLine.objects.filter(contract__signed_at__date__lte=end)
    if client_id:
        lines = lines.filter(contract__account_id=client_id)
    if currency:
        lines = lines.filter(contract__currency=currency)
    signed = [
        (pk, timezone.localdate(at), price or ZERO, code)
        for pk, at, price, code in lines.values_list("pk", "contract__signed_at", "price", "contract__currency")
    ]
    recognised_by_line: dict[int, list[tuple[date, Decimal]]] = defaultdict(list)
    for line_id, month, value in (
        Recognition.objects.filter(schedule__contract_line__in=lines.values("pk"), period__start__lte=end)
        .values("schedule__contract_line_id", "period__start")
        .annotate(v=_sum(F("amount")))
        .values_list("schedule__contract_line_id", "period__start", "v")
    ):
        recognised_by_line[line_id].append((month, value))
    out = []
    codes = sorted({code for *_, code in signed}, key=lambda c: (c != functional_currency(), c))
    for month in months_between(start, end):
        last = month_end(month)
        for code in codes or [currency or functional_currency()]:  # never added across contract currencies
            contracted = recognised = left = ZERO
            for pk, signed_on, price, line_code in signed:
                if signed_on > last or line_code != code:
                    continue
                done = sum((v for m, v in recognised_by_line.get(pk, ()) if m <= month), ZERO)
                contracted += price
                recognised += done
                left += max(ZERO, price - done)
            out.append(
                {"month": month, "currency": code, "contracted": contracted, "recognised": recognised, "backlog": left}
            )
    return out


# --- month-end figures -------------------------------------------------------------------------------------


@dataclass
class MonthFigures:
    revenue: Decimal
    cost: Decimal
    project_margin: Decimal
    backlog: CurrencyTotals  # per contract currency, and in the functional currency at the month end's rates


def month_figures(*, start: date, end: date) -> MonthFigures:
    """The month-end review's figures over [start, end], each as psa.core.kpis defines it: revenue and GL cost of
    services from the GL, project margin (ledger.selectors.margin: the margin report's total, group view) and
    backlog at the end (`backlog`)."""
    roles = (SystemAccount.SERVICES_REVENUE, SystemAccount.REIMBURSEMENT_REVENUE, SystemAccount.COST_OF_SERVICES)
    moved = dict(
        JournalLine.objects.filter(account__system_role__in=roles, date__gte=start, date__lte=end)
        .values("account__system_role")
        .annotate(v=_sum(F("debit") - F("credit")))
        .values_list("account__system_role", "v")
    )
    rows = backlog(start=end, end=end)
    income = moved.get(SystemAccount.SERVICES_REVENUE, ZERO) + moved.get(SystemAccount.REIMBURSEMENT_REVENUE, ZERO)
    return MonthFigures(
        revenue=-income,
        cost=moved.get(SystemAccount.COST_OF_SERVICES, ZERO),
        project_margin=project_margin_total(start=start, end=end),
        backlog=currency_totals([(r["currency"], r["backlog"]) for r in rows], on=min(end, timezone.localdate())),
    )


# --- forecast -----------------------------------------------------------------------------------------------


@dataclass
class Forecast:
    months: list[date]
    recognised: list[Decimal] = field(default_factory=list)
    scheduled: list[Decimal] = field(default_factory=list)
    pipeline: list[Decimal] = field(default_factory=list)
    currency: str = ""  # every figure is in this one currency (contracts' and deals')

    @property
    def totals(self) -> list[Decimal]:
        return [a + b + c for a, b, c in zip(self.recognised, self.scheduled, self.pipeline, strict=True)]


def revenue_forecast(*, start: date, end: date, today: date, currency: str | None = None) -> Forecast:
    """Per month: recognised (revenue posted by recognition), scheduled (what contracts will recognise in the
    months after the last recognised one: straight-line plans, milestones by due date, the rest of fixed-fee lines
    spread over their remaining months) and weighted pipeline (open deals x probability over their service
    months). One currency at a time (default: the functional one): contracts and deals in `currency` only, so no
    figure adds two currencies; `forecast_currencies` lists the currencies to ask for."""
    code = currency or functional_currency()
    in_code = Q(schedule__contract_line__contract__currency=code)
    months = months_between(start, end)
    index = {m: i for i, m in enumerate(months)}
    n = len(months)
    recognised = [ZERO] * n
    for month, value in (
        Recognition.objects.filter(in_code, period__start__in=months)
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
        RevenueScheduleLine.objects.filter(
            in_code, month__gte=first_future, month__lte=end, schedule__method="straight_line"
        )
        .values("month")
        .annotate(v=_sum(F("amount")))
        .values_list("month", "v")
    ):
        scheduled[index[month]] += value
    for due, amount in Milestone.objects.filter(
        ~Q(status="accepted"), contract_line__contract__currency=code, due_date__gte=first_future, due_date__lte=end
    ).values_list("due_date", "amount"):
        scheduled[index[month_start(due)]] += amount
    for price, recognised_to_date, line_end in RevenueSchedule.objects.filter(
        method__in=[RecognitionMethod.PERCENT_HOURS, RecognitionMethod.PERCENT_COST],
        end__gte=first_future,
        contract_line__contract__currency=code,
    ).values_list("price", "recognised", "end"):
        remaining = price - recognised_to_date
        spread = [m for m in months_between(first_future, line_end)]
        if remaining > 0 and spread:
            for m, part in zip(spread, split_evenly(remaining, len(spread)), strict=True):
                if m in index:
                    scheduled[index[m]] += part
    pipeline = [ZERO] * n
    for amount, probability, close, s_start, s_end in Opportunity.objects.filter(
        status="open", currency=code
    ).values_list("amount", "probability", "expected_close_date", "service_start", "service_end"):
        weighted = round_money(amount * probability / 100)
        if not weighted:
            continue
        spread = months_between(s_start, s_end) if s_start and s_end else [month_start(close)]
        for m, part in zip(spread, split_evenly(weighted, len(spread)), strict=True):
            if m in index and m >= first_future:
                pipeline[index[m]] += part
    return Forecast(months=months, recognised=recognised, scheduled=scheduled, pipeline=pipeline, currency=code)


def forecast_currencies() -> list[str]:
    """The currencies the revenue forecast has figures in: those of contracts with revenue schedules and of open
    deals, the functional currency first. Two queries."""
    codes = set(RevenueSchedule.objects.values_list("contract_line__contract__currency", flat=True).distinct())
    codes |= set(Opportunity.objects.filter(status="open").values_list("currency", flat=True).distinct())
    functional = functional_currency()
    return sorted(codes | {functional}, key=lambda c: (c != functional, c))


# --- recognition runs ---------------------------------------------------------------------------------------


def run_amounts(run_ids: list[int]) -> dict[int, list[tuple[str, Decimal]]]:
    """Net revenue each run recognised, per contract currency (a run spans contracts in several currencies, so
    its figure is never one sum). One grouped query for a page of runs."""
    out: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    rows = (
        Recognition.objects.filter(run_id__in=run_ids)
        .values("run_id", CURRENCY)
        .annotate(v=_sum(F("amount")))
        .values_list("run_id", CURRENCY, "v")
        .order_by("run_id", CURRENCY)
    )
    for run_id, code, value in rows:
        out[run_id].append((code, value))
    return out


def run_totals(*, run_id: int, on: date) -> CurrencyTotals:
    """One run's net revenue per contract currency and in the functional currency at the rates for `on`."""
    return currency_totals(run_amounts([run_id]).get(run_id, []), on=min(on, timezone.localdate()))
