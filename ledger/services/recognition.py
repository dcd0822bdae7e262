"""Cumulative revenue to date per contract line, by recognition method (DESIGN.md section 6), set-based.

`targets_compute` reads everything it needs with a fixed number of aggregate queries (time, expenses, milestones,
planned months, project actuals, estimates, credit notes), whatever the number of time entries; the Python loop
that follows runs once per schedule. The run (ledger.services.revenue) posts the difference between this target
and what is already recognised.

Rules:
- as delivered (T&M): the value of the approved billable hours dated on or before the month end, by the one
  rule billing invoices them with (projects.calculations: per contract line x role x rate, round(sum of hours x
  rate) once per group; cumulative, so each month recognises per group the difference between two cumulative
  values and the total equals the invoiced net once both have covered the same entries), capped at the line's
  cap together with the line's re-billed expenses.
- re-billed expenses, on a line of any method: the re-bill amounts of approved billable expenses dated on or
  before the month end, added to the method's revenue (billing invoices them whatever the line's model). Billing
  puts the whole net of an invoice, expense lines included, through the contract position, so an invoiced
  expense relieves the unbilled receivable this recognised, or the deferred revenue an earlier invoice left.
- re-billed vendor costs, the same way: the re-bill amounts of posted re-billable vendor-bill lines dated on or
  before the month end. The ledger cannot read billing's vendor bills, so billing tells it when it posts a bill
  (ledger.models.RebilledCost, written by ledger.services.rebilled_cost_record); they count as re-billed
  expenses of their line (capped with them on an as-delivered line).
- percent complete (fixed fee): progress = actual ÷ estimate at completion, where actual is the project's
  approved hours booked to its percent-complete lines (or to no line), or its cost to date: the one definition
  the labour cost run posts (ledger.selectors.project_cost.project_cost_to_date: employee and subcontractor time
  at the snapshot cost rate, direct expenses, each converted at its work month's rate, plus the vendor-bill cost
  the GL holds on the project), and EAC = actual + the PM's
  latest estimate to complete on or before the month end; revenue = price x progress (cumulative, so a changed
  estimate catches up in the month it changes). When EAC cost exceeds the price the expected loss is provided
  for: provision = (EAC cost - price) x (1 - progress), released as the work is done.
- milestone: Σ amounts of the line's milestones accepted on or before the month end (milestones must sum to the
  line's price).
- straight line (retainer, subscription, optionally fixed fee): Σ planned months through the month end.
- Credit notes that cut the price reduce recognised revenue. The ledger cannot read billing and the GL cannot
  tell a price cut from a correction that is billed again (both are Dr contract position / Cr AR), so billing
  tells the ledger when it issues a credit note that credits a plain amount (not sources, which become billable
  again): ledger.services.price_reductions.price_reduction_record writes a PriceReduction row per credit note.
  The cut lowers the effective price of the project's fixed-price lines (fixed fee, milestone, straight line) in
  contract-line order; T&M revenue follows approved delivery.
- Lines brought in at go-live (projects.models.ContractLineOpening: what the previous system billed and
  recognised before the cut-over `as_of`) carry on from their opening recognised revenue R0: the work measured is
  only what is dated on or after the cut-over (time, expenses, re-billed costs, progress), over the price still to
  recognise (price - R0). As delivered: R0 + the value of the time since; milestone: R0 + the milestones accepted
  (the milestones in PSA are the remaining ones and sum to price - R0); straight line: R0 + the planned months
  (planned over price - R0 from the cut-over month); percent complete: R0 + (price - R0) x progress since the
  cut-over, progress = actual since ÷ (actual since + estimate to complete), or the sold hours left (sold hours -
  opening hours) without an estimate. So a run right after go-live posts nothing, and later runs recognise only
  the rest.
- Currency: every amount here is in the contract's currency (the schedule's price, the time's bill rates from the
  contract's rate card, the milestones, the plan), rounded to that currency's minor unit (JPY to the yen). Costs
  are converted into the functional currency by the project cost selector (a missing rate is the schedule's
  error); progress is a ratio of costs, but a loss provision compares the estimated cost with the price, so for
  a contract in a foreign currency the cost is converted into the contract's currency at the recognition
  date's rate (`rates`) first.
  The run (ledger.services.revenue) converts what it posts into the functional currency by IFRIC 22.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Case, F, Max, Q, Sum, Value, When
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce
from django.utils import timezone

from ledger.choices import PERCENT_METHODS, RecognitionMethod
from ledger.models import ProjectEstimate, RebilledCost, RevenueScheduleLine
from ledger.selectors.project_cost import ProjectCost, project_cost_to_date
from ledger.selectors.revenue import price_reductions
from projects.calculations import tm_value_by_line
from projects.models import ContractLineOpening, Expense, Milestone, TimeEntry
from psa.core.currency import functional_currency
from psa.core.fx import Rate
from psa.core.money import ZERO, round_amount

APPROVED = "approved"
ACCEPTED = "accepted"


@dataclass
class Target:
    """What a schedule should have recognised through `as_of`, or why it cannot be computed."""

    revenue: Decimal = ZERO
    provision: Decimal = ZERO
    error: str = ""
    detail: dict = field(default_factory=dict)


def _money_sum(expression: str | Combinable) -> Coalesce:
    return Coalesce(Sum(expression), Value(ZERO))


def _by(rows: Iterable[Mapping[str, Any]], key: str, *names: str) -> dict:
    return {r[key]: tuple(r[n] or ZERO for n in names) for r in rows}


def _end_of_day(on: date) -> datetime:
    return timezone.make_aware(datetime.combine(on + timedelta(days=1), time.min))


@dataclass(frozen=True)
class Opening:
    """A go-live line's position at the cut-over (projects.models.ContractLineOpening)."""

    as_of: date
    recognised: Decimal
    hours: Decimal


def _openings(line_ids: list[int]) -> dict[int, Opening]:
    if not line_ids:
        return {}
    rows = ContractLineOpening.objects.filter(contract_line_id__in=line_ids).values_list(
        "contract_line_id", "as_of", "recognised", "hours"
    )
    return {line: Opening(on, recognised, hours) for line, on, recognised, hours in rows}


def _since_cutover(line_ids: list[int], openings: dict[int, Opening], field_name: str = "date") -> Q:
    """The rows of these contract lines that count: all of them for a line without an opening position; for a
    go-live line, those dated on or after its cut-over (what came before is in its opening recognised revenue)."""
    plain = [line for line in line_ids if line not in openings]
    wanted = Q(contract_line_id__in=plain)
    by_day: dict[date, list[int]] = {}
    for line in line_ids:
        if line in openings:
            by_day.setdefault(openings[line].as_of, []).append(line)
    for day, lines in sorted(by_day.items()):
        wanted |= Q(contract_line_id__in=lines, **{f"{field_name}__gte": day})
    return wanted


def targets_compute(
    schedules: list[dict], *, as_of: date, rates: Mapping[str, Rate] | None = None
) -> dict[int, Target]:
    """schedules: dicts with id, contract_line_id, project_id, method, price, cap, hours (the line's sold hours)
    and optionally currency (the contract's; default the functional one). `rates`: the recognition date's rate
    per foreign currency (for loss provisions). Returns schedule id -> Target. At most nine queries, each an
    aggregate, plus three when some line was brought in at go-live."""
    openings = _openings([s["contract_line_id"] for s in schedules])
    by_method: dict[str, list[dict]] = {}
    for s in schedules:
        by_method.setdefault(s["method"], []).append(s)
    tm_lines = [s["contract_line_id"] for s in by_method.get(RecognitionMethod.AS_DELIVERED, [])]
    ms_lines = [s["contract_line_id"] for s in by_method.get(RecognitionMethod.MILESTONE, [])]
    planned = [s["id"] for s in by_method.get(RecognitionMethod.STRAIGHT_LINE, [])]
    pct_projects = sorted({s["project_id"] for m in PERCENT_METHODS for s in by_method.get(m, [])})
    # Progress counts the work booked to the project's percent-complete lines (or to no line), not its T&M lines.
    pct_work = Q(contract_line_id__in=[s["contract_line_id"] for m in PERCENT_METHODS for s in by_method.get(m, [])])
    pct_work |= Q(contract_line__isnull=True)
    fixed_projects = sorted({s["project_id"] for s in schedules if s["method"] != RecognitionMethod.AS_DELIVERED})

    time_value: dict[int, Decimal] = {}
    if tm_lines:
        time_value = tm_value_by_line(
            TimeEntry.objects.filter(
                _since_cutover(tm_lines, openings), status=APPROVED, billable=True, date__lte=as_of
            )
        )
    # Re-billed expenses are revenue once billable, whatever the method of their line (billing invoices them).
    expense_value: dict = {}
    if schedules:
        expense_value = _by(
            Expense.objects.filter(
                _since_cutover([s["contract_line_id"] for s in schedules], openings),
                status=APPROVED,
                billable=True,
                rebill_amount__gt=0,
                date__lte=as_of,
            )
            .values("contract_line_id")
            .annotate(v=_money_sum("rebill_amount"))
            .order_by(),
            "contract_line_id",
            "v",
        )
        # Re-billed vendor costs (billing told the ledger when it posted the bill) count as the line's expenses.
        for cost in (
            RebilledCost.objects.filter(
                _since_cutover([s["contract_line_id"] for s in schedules], openings, "on"), on__lte=as_of
            )
            .values("contract_line_id")
            .annotate(v=_money_sum("amount"))
            .order_by()
        ):
            before = expense_value.get(cost["contract_line_id"], (ZERO,))[0]
            expense_value[cost["contract_line_id"]] = (before + cost["v"],)
    milestones: dict = {}
    if ms_lines:
        milestones = _by(
            Milestone.objects.filter(contract_line_id__in=ms_lines)
            .values("contract_line_id")
            .annotate(
                total=_money_sum("amount"),
                accepted=_money_sum(
                    Case(
                        When(Q(status=ACCEPTED) & Q(accepted_at__lt=_end_of_day(as_of)), then=F("amount")),
                        default=Value(ZERO),
                    )
                ),
            )
            .order_by(),
            "contract_line_id",
            "total",
            "accepted",
        )
    plan: dict = {}
    if planned:
        plan = _by(
            RevenueScheduleLine.objects.filter(schedule_id__in=planned)
            .values("schedule_id")
            .annotate(
                total=_money_sum("amount"),
                to_date=_money_sum(Case(When(month__lte=as_of, then=F("amount")), default=Value(ZERO))),
            )
            .order_by(),
            "schedule_id",
            "total",
            "to_date",
        )
    actual_time: dict = {}
    actual_cost: dict[int, ProjectCost] = {}
    estimates: dict = {}
    if pct_projects:
        actual_time = _by(
            TimeEntry.objects.filter(pct_work, project_id__in=pct_projects, status=APPROVED, date__lte=as_of)
            .values("project_id")
            .annotate(h=_money_sum("hours"))
            .order_by(),
            "project_id",
            "h",
        )
        actual_cost = project_cost_to_date(pct_projects, as_of=as_of, work=pct_work)
        latest = (
            ProjectEstimate.objects.filter(project_id__in=pct_projects, as_of__lte=as_of)
            .values("project_id")
            .annotate(latest=Max("as_of"))
            .order_by()
        )
        wanted = Q()
        for row in latest:
            wanted |= Q(project_id=row["project_id"], as_of=row["latest"])
        if wanted:
            estimates = {
                e.project_id: e
                for e in ProjectEstimate.objects.filter(wanted).only("project_id", "etc_hours", "etc_cost")
            }
    if pct_projects:
        _subtract_before_cutover(schedules, openings, pct_work, actual_time, actual_cost)
    credits = price_reductions(fixed_projects, as_of) if fixed_projects else {}
    credit_left = dict(credits)
    result: dict[int, Target] = {}
    functional = functional_currency()
    for s in sorted(schedules, key=lambda row: row["id"]):
        currency = s.get("currency") or functional
        rate = (rates or {}).get(currency) if currency != functional else None
        target = _target(
            s, credit_left, time_value, milestones, plan, actual_time, actual_cost, estimates, rate,
            openings.get(s["contract_line_id"]),
        )  # fmt: skip
        expenses = expense_value.get(s["contract_line_id"], (ZERO,))[0]
        if expenses and not target.error:
            target.revenue += expenses
            if s["method"] == RecognitionMethod.AS_DELIVERED and s.get("cap") is not None:
                target.revenue = min(target.revenue, s["cap"])
        # To the contract currency's minor unit (a no-op for amounts in cents of a 2-decimal currency).
        target.revenue = round_amount(target.revenue, currency)
        target.provision = round_amount(target.provision, currency)
        result[s["id"]] = target
    return result


def _subtract_before_cutover(
    schedules: list[dict], openings: dict[int, Opening], work: Q, actual_time: dict, actual_cost: dict
) -> None:
    """Progress of a go-live project counts the work from its cut-over on: take off the hours and cost dated
    before it (the previous system's, in its opening recognised revenue). Two queries per cut-over date."""
    cutover: dict[int, date] = {}
    for s in schedules:
        if s["method"] in PERCENT_METHODS and (opening := openings.get(s["contract_line_id"])):
            cutover[s["project_id"]] = min(opening.as_of, cutover.get(s["project_id"], opening.as_of))
    by_day: dict[date, list[int]] = {}
    for project_id, day in cutover.items():
        by_day.setdefault(day, []).append(project_id)
    for day, projects in by_day.items():
        before = (
            TimeEntry.objects.filter(work, project_id__in=projects, status=APPROVED, date__lt=day)
            .values("project_id")
            .annotate(h=_money_sum("hours"))
            .order_by()
        )
        for row in before:
            hours = actual_time.get(row["project_id"], (ZERO,))[0]
            actual_time[row["project_id"]] = (hours - (row["h"] or ZERO),)
        for project_id, cost in project_cost_to_date(projects, as_of=day - timedelta(days=1), work=work).items():
            now = actual_cost.get(project_id, ProjectCost())
            if not now.error:
                actual_cost[project_id] = ProjectCost(cost=now.cost - cost.cost, error=cost.error)


def _target(
    s: dict,
    credit_left: dict,
    time_value: dict,
    milestones: dict,
    plan: dict,
    actual_time: dict,
    actual_cost: dict,
    estimates: dict,
    rate: Rate | None = None,
    opening: Opening | None = None,
) -> Target:
    """One schedule's target from its method, before re-billed expenses (the caller adds them); `rate` converts
    costs into a foreign contract's currency; `opening`: a go-live line carries on from its opening recognised
    revenue (module docstring)."""
    price = s["price"]
    method = s["method"]
    effective = price
    if method != RecognitionMethod.AS_DELIVERED and credit_left.get(s["project_id"]):
        cut = min(credit_left[s["project_id"]], price)
        credit_left[s["project_id"]] -= cut
        effective = price - cut
    before = opening.recognised if opening is not None else ZERO
    left = price - before  # what is still to recognise (the whole price for a line without an opening)
    if method == RecognitionMethod.AS_DELIVERED:
        value = before + time_value.get(s["contract_line_id"], ZERO)
        if s.get("cap") is not None:
            value = min(value, s["cap"])
        return Target(revenue=value)
    if method == RecognitionMethod.MILESTONE:
        total, accepted = milestones.get(s["contract_line_id"], (ZERO, ZERO))
        if total != left:
            what = "its price" if opening is None else "its price less the revenue recognised before go-live"
            return Target(
                error=f"The line's milestones sum to {total:,.2f} but {what} is {left:,.2f}: "
                "the schedule must sum to the price."
            )
        return Target(revenue=min(before + accepted, effective))
    if method == RecognitionMethod.STRAIGHT_LINE:
        total, to_date = plan.get(s["id"], (ZERO, ZERO))
        if total != left:
            what = "the line's price" if opening is None else "the line's price less what was recognised before go-live"
            return Target(
                error=f"The planned months sum to {total:,.2f} but {what} is {left:,.2f}: "
                "the schedule must sum to the price."
            )
        if effective == price or not left:
            return Target(revenue=before + to_date)
        currency = s.get("currency") or functional_currency()
        return Target(revenue=before + round_amount(to_date * (effective - before) / left, currency))
    return _percent(s, effective, actual_time, actual_cost, estimates, rate, opening)


def _percent(
    s: dict,
    price: Decimal,
    actual_time: dict,
    actual_cost: dict,
    estimates: dict,
    rate: Rate | None = None,
    opening: Opening | None = None,
) -> Target:
    hours = actual_time.get(s["project_id"], (ZERO,))[0]
    to_date = actual_cost.get(s["project_id"], ProjectCost())
    cost = to_date.cost
    estimate = estimates.get(s["project_id"])
    if to_date.error and (s["method"] == RecognitionMethod.PERCENT_COST or getattr(estimate, "etc_cost", None)):
        return Target(error=to_date.error)
    eac_cost = cost + estimate.etc_cost if estimate is not None and estimate.etc_cost is not None else None
    sold = s.get("hours") or ZERO
    if opening is not None:
        sold = max(sold - opening.hours, ZERO)  # the hours sold that were not delivered before go-live
    if s["method"] == RecognitionMethod.PERCENT_COST:
        if eac_cost is None:
            return Target(error="No estimate to complete (cost) for the project: the PM enters one first.")
        actual, eac = cost, eac_cost
    else:
        if estimate is not None:
            eac = hours + estimate.etc_hours
        elif sold:
            eac = max(sold, hours)  # no estimate yet: the sold hours are the estimate at completion
        else:
            return Target(error="No estimate to complete (hours) and no sold hours on the line: the PM enters one.")
        actual = hours
    progress = min(actual / eac, Decimal(1)) if eac > 0 else Decimal(0)
    currency = s.get("currency") or functional_currency()
    if opening is not None:
        # Carry on from the opening position: the rest of the price over the progress since the cut-over.
        before = min(opening.recognised, price)
        revenue = before + round_amount((price - before) * progress, currency)
        price = price - before
    else:
        revenue = round_amount(price * progress, currency)
    provision = ZERO
    # The estimated cost in the contract's currency (costs are functional; a foreign contract converts them).
    eac_price = eac_cost / rate.rate if eac_cost is not None and rate is not None else eac_cost
    if eac_price is not None and eac_price > price:
        provision = round_amount((eac_price - price) * (Decimal(1) - progress), currency)
    return Target(
        revenue=revenue,
        provision=provision,
        detail={"actual": str(actual), "eac": str(eac), "progress": str(round(progress * 100, 2))},
    )
