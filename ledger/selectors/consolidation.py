"""The consolidated trial balance of the legal entities in a reporting currency, at a date.

How it is computed (and stated so on the page):

- Each entity's trial balance comes from the lines of its own entries (lines joined to their entry's entity), one
  grouped query for all entities: balance-sheet accounts (asset, liability, equity) from every line up to the
  date, P&L accounts (income, expense) from the lines of the year to date (1 January of the date's year through
  the date). The P&L of earlier years, never closed to retained earnings in the books, is shown as equity
  ("Result of earlier years").
- Every entity books in the firm's functional currency this round (psa.core.currency.functional_currency), so the
  translation is from that currency into the reporting one. ExchangeRate holds one unit of a currency in the
  functional one, so a functional amount translates as amount ÷ rate:
  balance-sheet rows (and the earlier years' result) at the CLOSING rate, the latest rate on or before the date;
  P&L rows at the AVERAGE rate, the arithmetic mean of every daily rate stored for the reporting currency from
  1 January through the date. Each entity's amount is shown translated, and the row's translated total is the
  entities' sum translated once, rounded once to the reporting currency (psa.core.money.round_amount), so the
  two sides of an intercompany balance, equal in the functional currency, translate to the same cents and
  eliminate exactly (an entity's rounded cell may differ from its share of the total by a cent).
  Reporting in the functional currency translates at 1 and changes nothing.
- Translating the balance sheet and the P&L at different rates leaves the translated trial balance out of
  balance; the difference is the translation reserve (equity), shown on its own row (rounding cents included).
- Intercompany is eliminated: the intercompany receivable, payable and revenue balances, and the cost of services
  posted by the intercompany recharge (ledger.services.intercompany), each in its own column. When both sides
  match, the eliminations sum to zero; any unmatched remainder is shown as its own row, never hidden.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Avg, Count, DecimalField, F, Max, Min, Q, Sum
from django.db.models.functions import Coalesce

from ledger.choices import BALANCE_SHEET_TYPES, IC_RECHARGE_SOURCE, AccountType, SystemAccount
from ledger.models import JournalLine, LedgerAccount
from psa.core.currency import functional_currency
from psa.core.exceptions import ConflictError
from psa.core.fx import rate_for
from psa.core.models import ExchangeRate, LegalEntity
from psa.core.money import FX_RATE_PLACES, ZERO, round_amount, round_to

ONE = Decimal(1)
CLOSING, AVERAGE = "closing", "average"
_ELIMINATED_ROLES = (SystemAccount.IC_RECEIVABLE, SystemAccount.IC_PAYABLE, SystemAccount.IC_REVENUE)
_VALUE = DecimalField(max_digits=20, decimal_places=2)


class MissingAverageRate(ConflictError):
    code = "missing_exchange_rate"


@dataclass(frozen=True)
class TranslationRate:
    kind: str  # closing or average
    rate: Decimal  # functional units per unit of the reporting currency
    label: str


@dataclass
class ConsolidationRow:
    """One account (or a computed equity row): debit-positive amounts per entity in the functional currency and
    translated, then their sum, the intercompany eliminated and the consolidated amount."""

    code: str
    name: str
    type: str
    basis: str
    functional: list[Decimal]
    translated: list[Decimal]
    translated_sum: Decimal = ZERO  # the entities' sum translated and rounded once (see the module docstring)
    eliminated: Decimal = ZERO
    computed: Decimal = ZERO  # the translation reserve's row: computed on the translated level, no entity's

    @property
    def total(self) -> Decimal:
        return self.translated_sum + self.computed

    @property
    def consolidated(self) -> Decimal:
        return self.total + self.eliminated

    @property
    def cells(self) -> list[tuple[Decimal, Decimal]]:
        return list(zip(self.functional, self.translated, strict=True))


@dataclass
class Consolidation:
    at: date
    year_start: date
    currency: str
    functional: str
    entities: list[LegalEntity]
    closing: TranslationRate
    average: TranslationRate
    rows: list[ConsolidationRow] = field(default_factory=list)
    reserve: Decimal = ZERO  # debit-positive; a credit reserve is negative
    unmatched: Decimal = ZERO  # debit-positive remainder of the eliminations

    def _sum(self, types: tuple[str, ...], attr: str = "consolidated") -> Decimal:
        return sum((getattr(r, attr) for r in self.rows if r.type in types), ZERO)

    @property
    def entity_balances(self) -> list[Decimal]:
        """Each entity's functional trial balance total (0: its books balance)."""
        return [sum((r.functional[i] for r in self.rows), ZERO) for i in range(len(self.entities))]

    @property
    def eliminated_total(self) -> Decimal:
        return sum((r.eliminated for r in self.rows), ZERO)

    @property
    def assets(self) -> Decimal:
        return self._sum((AccountType.ASSET,))

    @property
    def liabilities(self) -> Decimal:
        return -self._sum((AccountType.LIABILITY,))

    @property
    def equity(self) -> Decimal:
        return -self._sum((AccountType.EQUITY,))

    @property
    def income(self) -> Decimal:
        return -self._sum((AccountType.INCOME,))

    @property
    def expenses(self) -> Decimal:
        return self._sum((AccountType.EXPENSE,))

    @property
    def profit(self) -> Decimal:
        return self.income - self.expenses

    @property
    def liabilities_and_equity(self) -> Decimal:
        """Liabilities + equity (with the reserve) + the year's consolidated result."""
        return self.liabilities + self.equity + self.profit

    @property
    def balanced(self) -> bool:
        return self.assets == self.liabilities_and_equity


def _rates(currency: str, at: date, year_start: date, functional: str) -> tuple[TranslationRate, TranslationRate]:
    if currency == functional:
        same = f"1 {currency} = 1 {functional} (no translation)"
        return TranslationRate(CLOSING, ONE, same), TranslationRate(AVERAGE, ONE, same)
    closing = rate_for(currency=currency, on=at, quote=functional)
    avg = ExchangeRate.objects.filter(
        currency=currency, quote=functional, date__gte=year_start, date__lte=at
    ).aggregate(mean=Avg("rate"), n=Count("pk"), first=Min("date"), last=Max("date"))
    if not avg["n"]:
        raise MissingAverageRate(
            f"No {currency} → {functional} rate between {year_start:%Y-%m-%d} and {at:%Y-%m-%d}: the average rate of "
            "the year to date needs at least one. Enter rates under Ledger → Exchange rates.",
            fields={"currency": [f"No {currency} rates from {year_start:%Y-%m-%d} to {at:%Y-%m-%d}."]},
        )
    mean = round_to(Decimal(avg["mean"]), FX_RATE_PLACES)
    return (
        TranslationRate(CLOSING, closing.rate, f"closing rate {closing.label}"),
        TranslationRate(
            AVERAGE,
            mean,
            f"average rate 1 {currency} = {mean.normalize():f} {functional}: the mean of {avg['n']} daily rates "
            f"from {avg['first']:%Y-%m-%d} to {avg['last']:%Y-%m-%d}",
        ),
    )


def consolidation(*, currency: str, at: date) -> Consolidation:
    """The consolidated trial balance (see the module docstring). Five queries whatever the number of lines:
    entities, accounts, the per-entity sums, the closing rate and the average rate."""
    functional = functional_currency()
    year_start = date(at.year, 1, 1)
    closing, average = _rates(currency, at, year_start, functional)
    entities = list(LegalEntity.objects.order_by("code"))
    index = {e.pk: i for i, e in enumerate(entities)}
    accounts = {a.pk: a for a in LedgerAccount.objects.all()}
    signed = F("debit") - F("credit")
    this_year = Q(date__gte=year_start)
    recharge_cost = this_year & Q(
        entry__source__startswith=IC_RECHARGE_SOURCE, account__system_role=SystemAccount.COST_OF_SERVICES
    )
    sums = (
        JournalLine.objects.filter(date__lte=at)
        .values("entry__entity_id", "account_id")
        .annotate(
            all_time=Coalesce(Sum(signed, output_field=_VALUE), ZERO, output_field=_VALUE),
            ytd=Coalesce(Sum(signed, filter=this_year, output_field=_VALUE), ZERO, output_field=_VALUE),
            recharged=Coalesce(Sum(signed, filter=recharge_cost, output_field=_VALUE), ZERO, output_field=_VALUE),
        )
        .order_by()
    )
    n = len(entities)
    by_account: dict[int, list[Decimal]] = {}
    recharged = [ZERO] * n
    earlier = [ZERO] * n

    def translate(amount: Decimal, rate: TranslationRate) -> Decimal:
        return round_amount(amount / rate.rate, currency) if amount else ZERO

    for row in sums:
        account = accounts[row["account_id"]]
        i = index[row["entry__entity_id"]]
        cells = by_account.setdefault(account.pk, [ZERO] * n)
        if account.type in BALANCE_SHEET_TYPES:
            cells[i] += row["all_time"]
        else:
            cells[i] += row["ytd"]
            earlier[i] += row["all_time"] - row["ytd"]
            recharged[i] += row["recharged"]
    report = Consolidation(
        at=at, year_start=year_start, currency=currency, functional=functional, entities=entities,
        closing=closing, average=average,
    )  # fmt: skip
    for account_id, cells in sorted(by_account.items(), key=lambda item: accounts[item[0]].code):
        account = accounts[account_id]
        if not any(cells):
            continue
        rate = closing if account.type in BALANCE_SHEET_TYPES else average
        line = ConsolidationRow(
            code=account.code,
            name=account.name,
            type=account.type,
            basis=rate.kind,
            functional=cells,
            translated=[translate(c, rate) for c in cells],
            translated_sum=translate(sum(cells, ZERO), rate),
        )
        if account.system_role in _ELIMINATED_ROLES:
            line.eliminated = -line.total
        elif account.system_role == SystemAccount.COST_OF_SERVICES:
            line.eliminated = -translate(sum(recharged, ZERO), average)
        report.rows.append(line)
    if any(earlier):
        report.rows.append(
            ConsolidationRow(
                code="",
                name="Result of earlier years",
                type=AccountType.EQUITY,
                basis=CLOSING,
                functional=earlier,
                translated=[translate(c, closing) for c in earlier],
                translated_sum=translate(sum(earlier, ZERO), closing),
            )
        )
    report.reserve = -sum((r.total for r in report.rows), ZERO)
    report.unmatched = -report.eliminated_total
    zeros = [ZERO] * n
    reserve_code = next((a.code for a in accounts.values() if a.system_role == SystemAccount.TRANSLATION_RESERVE), "")
    report.rows.append(
        ConsolidationRow(
            code=reserve_code, name="Translation reserve", type=AccountType.EQUITY, basis="", functional=list(zeros),
            translated=list(zeros), computed=report.reserve,
        )
    )  # fmt: skip
    if report.unmatched:
        report.rows.append(
            ConsolidationRow(
                code="", name="Intercompany not matched", type=AccountType.EQUITY, basis="", functional=list(zeros),
                translated=list(zeros), eliminated=report.unmatched,
            )
        )  # fmt: skip
    return report
