"""A project's cost: what the month-end labour cost run posts (ledger.services.cost_posting) and the cost to date
that percent-of-completion by cost measures progress with (ledger.services.recognition). ONE definition for both:

- employee time: approved entries, hours x the snapshot cost rate (TimeEntry.cost_rate, copied at approval),
  rounded per entry (Round(hours * cost_rate, 2), the rule of ledger.selectors.revenue's delivery figures), in
  the consultant's cost currency;
- subcontractor time (Consultant.vendor set): the same, in the vendor's currency;
- approved expenses: their amount in their own currency; re-billed ones (billable with a re-bill amount) are a
  kind of their own because they post to Re-billable costs (5050) rather than Cost of services (both are
  PROJECT_COST_ROLES, so both are project cost);
- intercompany time (an employee of another entity than the project's): costed at the snapshot cost rate like
  the rest for progress, but not posted by the labour cost run: the month-end intercompany recharge already puts
  that time into the project's books (Dr cost of services at the transfer rate, ledger.services.intercompany);
- plus, for the cost to date only, the vendor bills' cost posted to the project in the GL (entries whose source
  starts with "vendor-bill:", lines on PROJECT_COST_ROLES accounts with the project's dimension).
- time and expenses brought in at go-live (`opening`, approved before the cut-over and not billed yet) are left
  out: their cost is in the previous system's books, which the opening balances carry.

Grouped per project x work month x kind x currency with TWO aggregate queries (time, expenses), whatever the
number of entries. A group in a foreign currency converts at the rate of its work month's last day (psa.core.fx:
the latest rate on or before it); a missing rate is named per group, never 1:1.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import BooleanField, Case, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce, Round, TruncMonth

from ledger.choices import LABOUR_COST_SOURCE, PROJECT_COST_ROLES, VENDOR_BILL_SOURCE, SystemAccount
from ledger.models import JournalLine
from projects.models import Expense, TimeEntry
from psa.core.currency import functional_currency
from psa.core.dates import month_end
from psa.core.fx import MissingRate, Rate, rate_for, rates_for
from psa.core.money import ZERO, round_amount

APPROVED = "approved"

# The kinds of cost, each with the account it debits and the account it credits (system roles).
LABOUR, SUBCONTRACT, EXPENSE, REBILL, INTERCOMPANY = "labour", "subcontract", "expense", "rebill", "intercompany"
POSTED_KINDS: dict[str, tuple[str, str]] = {
    LABOUR: (SystemAccount.COST_OF_SERVICES, SystemAccount.LABOUR_ABSORBED),
    SUBCONTRACT: (SystemAccount.COST_OF_SERVICES, SystemAccount.SUBCONTRACT_ACCRUAL),
    EXPENSE: (SystemAccount.COST_OF_SERVICES, SystemAccount.EXPENSE_CLAIMS),
    REBILL: (SystemAccount.REBILLABLE_COSTS, SystemAccount.EXPENSE_CLAIMS),
}

GroupKey = tuple[int, date, str, str]  # project id, first day of the work month, kind, currency


@dataclass(frozen=True)
class CostGroup:
    project_id: int
    month: date  # first day of the work month
    kind: str
    currency: str
    amount: Decimal  # in `currency`, rounded to its minor unit

    @property
    def key(self) -> GroupKey:
        return (self.project_id, self.month, self.kind, self.currency)


def _scope(project_ids: Iterable[int] | None, entity_id: int | None, work: Q | None) -> Q:
    scope = Q()
    if project_ids is not None:
        scope &= Q(project_id__in=list(project_ids))
    if entity_id is not None:
        scope &= Q(project__entity_id=entity_id)
    if work is not None:
        scope &= work
    return scope


def cost_groups(
    *,
    through: date,
    project_ids: Iterable[int] | None = None,
    entity_id: int | None = None,
    work: Q | None = None,
) -> list[CostGroup]:
    """The approved cost dated on or before `through`, per project x work month x kind x currency (see the module
    docstring). `entity_id`: only that entity's projects; `work`: a further filter on the time entries and
    expenses (recognition: the work booked to the percent-complete lines). Two queries."""
    scope = _scope(project_ids, entity_id, work)
    groups: list[CostGroup] = []
    sub = Q(consultant__vendor__isnull=False)
    intercompany = Q(consultant__vendor__isnull=True) & ~Q(consultant__entity_id=F("project__entity_id"))
    time = (
        TimeEntry.objects.filter(scope, status=APPROVED, opening=False, date__lte=through)
        .annotate(
            month=TruncMonth("date"),
            cost_currency=Coalesce(F("consultant__vendor__currency"), F("consultant__cost_currency")),
            kind=Case(
                When(sub, then=Value(SUBCONTRACT)),
                When(intercompany, then=Value(INTERCOMPANY)),
                default=Value(LABOUR),
            ),
        )
        .values("project_id", "month", "kind", "cost_currency")
        .annotate(amount=Sum(Round(F("hours") * Coalesce(F("cost_rate"), Value(ZERO)), 2)))
        .order_by()
    )
    for row in time:
        groups.append(
            CostGroup(
                row["project_id"],
                _day(row["month"]),
                row["kind"],
                row["cost_currency"],
                round_amount(row["amount"] or ZERO, row["cost_currency"]),
            )
        )
    rebilled = Q(billable=True, rebill_amount__gt=0)
    expenses = (
        Expense.objects.filter(scope, status=APPROVED, opening=False, date__lte=through)
        .annotate(
            month=TruncMonth("date"), rebill=Case(When(rebilled, then=True), default=False, output_field=BooleanField())
        )
        .values("project_id", "month", "rebill", "currency")
        .annotate(amount=Sum("amount"))
        .order_by()
    )
    for e in expenses:
        groups.append(
            CostGroup(
                e["project_id"],
                _day(e["month"]),
                REBILL if e["rebill"] else EXPENSE,
                e["currency"],
                round_amount(e["amount"] or ZERO, e["currency"]),
            )
        )
    return groups


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


@dataclass
class CostRates:
    """The rates of the work months' last days, per (currency, day), and the pairs without one."""

    rates: dict[tuple[str, date], Rate] = field(default_factory=dict)
    missing: dict[tuple[str, date], MissingRate] = field(default_factory=dict)

    def for_group(self, currency: str, month: date) -> Rate | MissingRate:
        key = (currency, month_end(month))
        return self.missing.get(key) or self.rates[key]


def cost_rates(pairs: Iterable[tuple[str, date]]) -> CostRates:
    """Rates for (currency, first day of a work month) pairs at the month's last day: one query, and one per
    pair only when some rate is missing (to name each missing one)."""
    wanted = {(currency, month_end(month)) for currency, month in pairs}
    try:
        return CostRates(rates=rates_for(pairs=wanted))
    except MissingRate:
        found = CostRates()
        for pair in wanted:
            try:
                found.rates[pair] = rate_for(currency=pair[0], on=pair[1])
            except MissingRate as missing:
                found.missing[pair] = missing
        return found


def cost_posted(
    *, project_ids: Iterable[int] | None = None, entity_id: int | None = None
) -> dict[GroupKey, tuple[Decimal, Decimal]]:
    """What the labour cost entries hold per project x work month x kind x currency: (amount in the currency,
    functional amount), both positive for a cost. Read from the journal (the source names the work month), one
    query. A kind is told by its credit account (labour absorbed, subcontract accrual, expense claims) and, for
    expense claims, by the debit account (re-billable costs)."""
    roles = [SystemAccount.LABOUR_ABSORBED, SystemAccount.SUBCONTRACT_ACCRUAL, SystemAccount.EXPENSE_CLAIMS]
    lines = JournalLine.objects.filter(
        entry__source__startswith=LABOUR_COST_SOURCE,
        account__system_role__in=[*roles, SystemAccount.REBILLABLE_COSTS],
    )
    if project_ids is not None:  # the project is in the source: the labour absorbed line carries no project
        wanted = "|".join(str(int(pk)) for pk in project_ids) or "0"
        lines = lines.filter(entry__source__regex=rf"^{LABOUR_COST_SOURCE}[0-9]{{4}}-[0-9]{{2}}:({wanted})$")
    if entity_id is not None:
        lines = lines.filter(entity_id=entity_id)
    signed = Case(When(credit__gt=0, then=F("amount_currency")), default=-F("amount_currency"))
    rows = (
        lines.values("entry__source", "account__system_role", "currency")
        .annotate(cur=Sum(signed), fn=Sum(F("credit") - F("debit")))
        .order_by()
    )
    by_kind: dict[str | None, str] = {
        SystemAccount.LABOUR_ABSORBED: LABOUR,
        SystemAccount.SUBCONTRACT_ACCRUAL: SUBCONTRACT,
        SystemAccount.EXPENSE_CLAIMS: EXPENSE,
        SystemAccount.REBILLABLE_COSTS: REBILL,
    }
    posted: dict[GroupKey, tuple[Decimal, Decimal]] = {}

    def add(key: GroupKey, cur: Decimal, fn: Decimal) -> None:
        old = posted.get(key, (ZERO, ZERO))
        posted[key] = (old[0] + cur, old[1] + fn)

    for row in rows:
        _prefix, work_month, project = row["entry__source"].split(":")
        month, project_id = date.fromisoformat(work_month + "-01"), int(project)
        kind = by_kind[row["account__system_role"]]
        key = (project_id, month, kind, row["currency"])
        if kind == REBILL:  # a debit (credit - debit < 0): the re-billed part of the expense claims
            add(key, -row["cur"], -row["fn"])
            add((project_id, month, EXPENSE, row["currency"]), row["cur"], row["fn"])
        else:
            add(key, row["cur"], row["fn"])
    return {k: v for k, v in posted.items() if v != (ZERO, ZERO)}


def cost_targets(groups: Iterable[CostGroup]) -> dict[GroupKey, Decimal]:
    """What the labour cost entries must hold per group: every kind but intercompany time (the recharge posts
    that), amounts in the group's currency."""
    return {g.key: g.amount for g in groups if g.kind != INTERCOMPANY and g.amount}


def cost_differences(
    targets: dict[GroupKey, Decimal], posted: dict[GroupKey, tuple[Decimal, Decimal]]
) -> dict[tuple[int, date], dict[tuple[str, str], Decimal]]:
    """Per (project, work month): per (kind, currency) the amount in the currency still to post (negative: to
    take back)."""
    out: dict[tuple[int, date], dict[tuple[str, str], Decimal]] = defaultdict(dict)
    for key in set(targets) | set(posted):
        project_id, month, kind, currency = key
        diff = targets.get(key, ZERO) - posted.get(key, (ZERO, ZERO))[0]
        if diff:
            out[(project_id, month)][(kind, currency)] = diff
    return dict(out)


def cost_outstanding(*, through: date, entity_id: int | None = None) -> dict[tuple[int, date], dict]:
    """The project-months whose approved cost through `through` differs from what the labour cost entries hold
    (the month-end checklist's line). Three queries."""
    targets = cost_targets(cost_groups(through=through, entity_id=entity_id))
    return cost_differences(targets, cost_posted(entity_id=entity_id))


@dataclass(frozen=True)
class ProjectCost:
    """A project's cost to date in the functional currency, or why it cannot be given (a missing rate)."""

    cost: Decimal = ZERO
    error: str = ""


def project_cost_to_date(project_ids: Iterable[int], *, as_of: date, work: Q | None = None) -> dict[int, ProjectCost]:
    """Cost to date per project (see the module docstring): labour, subcontractors, intercompany time at cost and
    direct expenses dated on or before `as_of`, converted at each work month's last-day rate, plus the vendor-bill
    cost the GL holds on the project through `as_of`. `work` narrows the time and expenses (not the vendor bills,
    which carry no contract line). Four queries at most."""
    ids = list(project_ids)
    groups = cost_groups(through=as_of, project_ids=ids, work=work)
    functional = functional_currency()
    rates = cost_rates((g.currency, g.month) for g in groups if g.currency != functional)
    result: dict[int, ProjectCost] = {}
    for g in groups:
        current = result.get(g.project_id, ProjectCost())
        if current.error:
            continue
        if g.currency == functional:
            result[g.project_id] = ProjectCost(cost=current.cost + g.amount)
            continue
        rate = rates.for_group(g.currency, g.month)
        if isinstance(rate, MissingRate):
            result[g.project_id] = ProjectCost(error=f"Cost in {g.currency}: {rate.message}")
        else:
            result[g.project_id] = ProjectCost(cost=current.cost + round_amount(g.amount * rate.rate, functional))
    bills = (
        JournalLine.objects.filter(
            entry__source__startswith=VENDOR_BILL_SOURCE,
            account__system_role__in=PROJECT_COST_ROLES,
            project_id__in=ids,
            date__lte=as_of,
        )
        .values("project_id")
        .annotate(v=Sum(F("debit") - F("credit")))
        .order_by()
    )
    for row in bills:
        current = result.get(row["project_id"], ProjectCost())
        if not current.error:
            result[row["project_id"]] = ProjectCost(cost=current.cost + (row["v"] or ZERO))
    return result


__all__ = [
    "EXPENSE",
    "INTERCOMPANY",
    "LABOUR",
    "POSTED_KINDS",
    "REBILL",
    "SUBCONTRACT",
    "CostGroup",
    "CostRates",
    "GroupKey",
    "ProjectCost",
    "cost_differences",
    "cost_groups",
    "cost_outstanding",
    "cost_posted",
    "cost_rates",
    "cost_targets",
    "project_cost_to_date",
]
