"""Totals across currencies: per-currency figures and one functional-currency total at named, dated rates.

DESIGN.md invariant 11: no figure adds two currencies without converting them. Every page or endpoint that sums
document amounts across accounts, contracts or deals groups them by currency in SQL
(`values("currency").annotate(Sum(...))`) and hands the per-currency sums to `currency_totals`, which

- keeps each currency's own figure (always shown, always with its code),
- converts each into the functional currency at the rate for `on` (psa.core.fx: the latest rate on or before
  it), rounds each converted part to the functional currency's minor unit and adds the rounded parts,
- names every rate used (`Rate.label`: "1 USD = 0.92 EUR (2026-12-04)"), so the page can say which rates of
  which date the total stands on,
- and, when a currency has no rate on or before `on`, gives no converted total at all (never 1:1): `total` is
  None and `message` names the currency and the date. A page shows the per-currency figures and the message;
  it never answers 500.

One rate query for all the currencies of a page (`currency_totals_many` shares it between several columns),
plus one more per currency that has no rate (rare, and bounded by the number of currencies).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from psa.core.currency import UnknownCurrency, functional_currency, minor_unit
from psa.core.fx import MissingRate, Rate, convert, rates_for
from psa.core.money import ZERO, to_decimal

type Sums = Mapping[str, Decimal] | Iterable[tuple[str, Decimal]]


@dataclass(frozen=True)
class CurrencyLine:
    """One currency's figure; `rate` and `converted` are None when it has no rate (or needs none: the
    functional currency converts to itself, rate None, converted = amount)."""

    currency: str
    amount: Decimal
    rate: Rate | None
    converted: Decimal | None

    @property
    def foreign(self) -> bool:
        return self.rate is not None and self.rate.date is not None


@dataclass(frozen=True)
class CurrencyTotals:
    lines: tuple[CurrencyLine, ...]
    functional: str
    on: date
    total: Decimal | None  # the functional-currency total; None when any currency lacks a rate
    missing: tuple[str, ...]  # currencies without a rate on or before `on`

    @property
    def single(self) -> bool:
        """One currency only: the figure is shown as it is, with its code, and nothing is converted."""
        return len(self.lines) <= 1 and not self.missing and not any(line.foreign for line in self.lines)

    @property
    def converted(self) -> bool:
        return self.total is not None and any(line.foreign for line in self.lines)

    @property
    def rates(self) -> list[Rate]:
        return [line.rate for line in self.lines if line.rate is not None and line.rate.date is not None]

    @property
    def rate_dates(self) -> list[date]:
        return sorted({r.date for r in self.rates if r.date is not None})

    @property
    def rates_text(self) -> str:
        """'1 USD = 0.92 EUR, 1 GBP = 1.17 EUR (rates of 2026-12-04)' when the rates share a date, else each
        rate's own label."""
        rates = self.rates
        if not rates:
            return ""
        if len(self.rate_dates) == 1:
            pairs = ", ".join(f"1 {r.currency} = {r.rate.normalize():f} {r.quote}" for r in rates)
            return f"{pairs} (rates of {self.rate_dates[0]:%Y-%m-%d})"
        return ", ".join(r.label for r in rates)

    @property
    def message(self) -> str:
        if not self.missing:
            return ""
        names = ", ".join(self.missing)
        return (
            f"No exchange rate into {self.functional} for {names} on or before {self.on:%Y-%m-%d}: the total in "
            f"{self.functional} is not shown. Enter the rate under Ledger → Exchange rates."
        )

    def amount(self, currency: str) -> Decimal:
        return next((line.amount for line in self.lines if line.currency == currency), ZERO)

    def as_dict(self) -> dict:
        """The API shape: decimals as strings, rates with their date and label."""
        return {
            "currencies": [
                {
                    "currency": line.currency,
                    "amount": str(line.amount),
                    "rate": f"{line.rate.rate.normalize():f}" if line.foreign and line.rate else None,
                    "rate_date": line.rate.date.isoformat() if line.foreign and line.rate and line.rate.date else None,
                    "rate_label": line.rate.label if line.foreign and line.rate else None,
                    "converted": str(line.converted) if line.converted is not None else None,
                }
                for line in self.lines
            ],
            "functional_currency": self.functional,
            "functional_total": str(self.total) if self.total is not None else None,
            "rates_as_of": self.on.isoformat(),
            "missing_rates": [{"currency": c, "date": self.on.isoformat()} for c in self.missing],
            "message": self.message,
        }


def _merged(sums: Sums) -> dict[str, Decimal]:
    items = sums.items() if isinstance(sums, Mapping) else sums
    out: dict[str, Decimal] = {}
    for currency, amount in items:
        out[currency] = out.get(currency, ZERO) + to_decimal(amount if amount is not None else ZERO)
    return out


def rates_available(currencies: Iterable[str], *, on: date) -> tuple[dict[str, Rate], tuple[str, ...]]:
    """The rate of each currency into the functional one for `on`, and the currencies that have none (or are
    not a currency PSA knows). One query, plus one per currency without a rate."""
    functional = functional_currency()
    wanted = sorted(set(currencies))
    missing: list[str] = []
    while True:
        try:
            found = rates_for(pairs=[(c, on) for c in wanted])
        except MissingRate as exc:
            missing.append(exc.currency)
            wanted.remove(exc.currency)
            continue
        except UnknownCurrency:
            unknown = next(c for c in wanted if c != functional and not _known(c))
            missing.append(unknown)
            wanted.remove(unknown)
            continue
        return {c: found[(c, on)] for c in wanted}, tuple(sorted(missing))


def _known(code: str) -> bool:
    try:
        minor_unit(code)
    except UnknownCurrency:
        return False
    return True


def _build(merged: dict[str, Decimal], rates: dict[str, Rate], missing: tuple[str, ...], on: date) -> CurrencyTotals:
    functional = functional_currency()
    present = [c for c, a in merged.items() if a]
    if not present:
        present = [functional] if not merged else sorted(merged)[:1]
    # The functional currency first, then the others by code: the same order on every page.
    order = sorted(set(present), key=lambda c: (c != functional, c))
    lines = []
    for currency in order:
        amount = merged.get(currency, ZERO)
        rate = rates.get(currency)
        converted = convert(amount=amount, rate=rate) if rate is not None else None
        lines.append(CurrencyLine(currency=currency, amount=amount, rate=rate, converted=converted))
    gaps = tuple(c for c in missing if c in order)
    total = None if gaps else sum((line.converted or ZERO for line in lines), ZERO)
    return CurrencyTotals(lines=tuple(lines), functional=functional, on=on, total=total, missing=gaps)


def currency_totals(sums: Sums, *, on: date) -> CurrencyTotals:
    """Per-currency figures and their functional-currency total at the rates for `on` (see the module doc)."""
    merged = _merged(sums)
    rates, missing = rates_available([c for c, a in merged.items() if a], on=on)
    return _build(merged, rates, missing, on)


def currency_totals_many(columns: Mapping[str, Sums], *, on: date) -> dict[str, CurrencyTotals]:
    """`currency_totals` for several columns of one page (aging buckets, report columns) with one rate lookup."""
    merged = {name: _merged(sums) for name, sums in columns.items()}
    currencies = {c for m in merged.values() for c, a in m.items() if a}
    rates, missing = rates_available(currencies, on=on)
    return {name: _build(m, rates, missing, on) for name, m in merged.items()}
