"""What a month-end revaluation of a period would post (the preview, the run's plan, the checklist item).

An open item is the balance of one monetary account (ledger.choices.REVALUED_ROLES: receivables and cash) x client
x project x foreign currency, read from the journal lines dated up to the period end in ONE grouped query:

- open amount in the currency = Σ amount_currency, debit lines positive, credit lines negative;
- booked = Σ (debit - credit) of the same lines, functional; it includes the revaluations of earlier periods that
  are not reversed yet, except those whose automatic reversal falls on or before this period end (the run posts
  those reversals first, so the preview already leaves them out), and it leaves out this period's own
  revaluation (`current`: what it holds for the item now);
- revalued = convert(open amount, the rate at the period end) with psa.core.fx (one `rates_for` query for all
  currencies; a missing rate is MissingRate naming the currency and the date);
- difference = revalued - booked: what this period's revaluation must hold for the item. The run posts when some
  item's difference is not what the period holds already (`changed`); running it again with the same rates and
  the same postings finds nothing changed.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, DecimalField, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from ledger.choices import REVALUED_ROLES
from ledger.models import AccountingPeriod, JournalEntry, JournalLine, PeriodClose
from ledger.models.revaluation import revaluation_prefix
from psa.core.currency import functional_currency
from psa.core.fx import Rate, convert, rates_for
from psa.core.money import ZERO

_AMOUNT = DecimalField(max_digits=18, decimal_places=2)


@dataclass(frozen=True)
class RevaluationItem:
    account_id: int
    account_code: str
    client_id: int | None
    project_id: int | None
    currency: str
    open: Decimal  # in `currency`, debit positive
    booked: Decimal  # functional, without this period's revaluation
    current: Decimal  # what this period's revaluation holds for the item now
    revalued: Decimal  # `open` at the period-end rate
    entity_id: int | None = None  # the legal entity whose books hold the item (and take its revaluation)

    @property
    def difference(self) -> Decimal:
        return self.revalued - self.booked

    @property
    def changed(self) -> bool:
        return self.difference != self.current


@dataclass
class CurrencySummary:
    currency: str
    rate: Rate
    items: int = 0
    open: Decimal = ZERO
    booked: Decimal = ZERO
    revalued: Decimal = ZERO
    difference: Decimal = ZERO


@dataclass
class RevaluationPlan:
    period: AccountingPeriod
    items: list[RevaluationItem]
    rates: dict[str, Rate]
    pending_reversals: list[int] = field(default_factory=list)  # earlier revaluations to reverse first

    @property
    def to_post(self) -> list[RevaluationItem]:
        return [i for i in self.items if i.difference]

    @property
    def changed(self) -> bool:
        return any(i.changed for i in self.items)

    @property
    def difference(self) -> Decimal:
        return sum((i.difference for i in self.items), ZERO)

    @property
    def rates_used(self) -> dict[str, list[str]]:
        """The rates as the run records them: {currency: [rate, date the rate was published for]}."""
        return {c: [f"{r.rate.normalize():f}", r.date.isoformat() if r.date else ""] for c, r in self.rates.items()}

    @property
    def currencies(self) -> list[CurrencySummary]:
        summaries = {c: CurrencySummary(currency=c, rate=r) for c, r in sorted(self.rates.items())}
        for i in self.items:
            s = summaries[i.currency]
            s.items += 1 if i.open else 0
            s.open += i.open
            s.booked += i.booked
            s.revalued += i.revalued
            s.difference += i.difference
        return list(summaries.values())


def _signed(amount: F | str) -> Case:
    return Case(When(debit__gt=0, then=F(amount)), default=-F(amount), output_field=_AMOUNT)  # type: ignore[arg-type]


def pending_reversals(period: AccountingPeriod) -> list[int]:
    """Revaluation entries of earlier periods whose automatic reversal is due on or before this period's end and
    not posted yet (the revaluation of this period posts them first)."""
    return list(
        JournalEntry.objects.filter(
            source__startswith="fx-revaluation:", auto_reverse_on__lte=period.end, reversed_by__isnull=True
        )
        .order_by("auto_reverse_on", "pk")
        .values_list("pk", flat=True)
    )


def revaluation_plan(period: AccountingPeriod) -> RevaluationPlan:
    """The open foreign-currency items of the period with their revaluation (see the module docstring): three
    queries whatever the number of items (pending reversals, the grouped lines, the rates). An item belongs to
    one legal entity's books; the entities that have closed the month are left out (they revalued before
    closing it)."""
    pending = pending_reversals(period)
    prefix = revaluation_prefix(period.label)
    this_period = Q(entry__source__startswith=prefix) | Q(entry__reverses__source__startswith=prefix)
    booked_expr = F("debit") - F("credit")
    excluded = this_period | Q(entry_id__in=pending) if pending else this_period
    grouped = (
        JournalLine.objects.filter(account__system_role__in=REVALUED_ROLES, date__lte=period.end)
        .exclude(currency=functional_currency())
        .exclude(entity_id__in=PeriodClose.objects.filter(period=period).values("entity_id"))
        .values("entity_id", "account_id", "client_id", "project_id", "currency")
        .annotate(
            code=F("account__code"),
            open=Coalesce(Sum(_signed("amount_currency")), Value(ZERO), output_field=_AMOUNT),
            total=Coalesce(Sum(booked_expr), Value(ZERO), output_field=_AMOUNT),
            mine=Coalesce(
                Sum(Case(When(this_period, then=booked_expr), default=Value(ZERO), output_field=_AMOUNT)),
                Value(ZERO),
                output_field=_AMOUNT,
            ),
            skipped=Coalesce(
                Sum(Case(When(excluded, then=booked_expr), default=Value(ZERO), output_field=_AMOUNT)),
                Value(ZERO),
                output_field=_AMOUNT,
            ),
        )
        .filter(~Q(open=0) | ~Q(total=0))
        .order_by("entity_id", "currency", "account__code", "client_id", "project_id")
    )
    rows = list(grouped)
    rates = rates_for(pairs={(r["currency"], period.end) for r in rows}) if rows else {}
    by_currency = {currency: rate for (currency, _on), rate in rates.items()}
    items = [
        RevaluationItem(
            account_id=r["account_id"],
            account_code=r["code"],
            client_id=r["client_id"],
            project_id=r["project_id"],
            currency=r["currency"],
            open=r["open"],
            booked=r["total"] - r["skipped"],
            current=r["mine"],
            revalued=convert(amount=r["open"], rate=by_currency[r["currency"]]),
            entity_id=r["entity_id"],
        )
        for r in rows
    ]
    items = [i for i in items if i.open or i.difference or i.current]
    return RevaluationPlan(period=period, items=items, rates=by_currency, pending_reversals=pending)
