"""Exchange rates: the rate for a date and conversion into the functional currency.

- A rate says what one unit of a foreign currency is worth in the functional currency (psa.core.models.ExchangeRate).
- The rate for a date is the latest one on or before it. A missing rate is `MissingRate` (409), naming the
  currency and the date; PSA never converts 1:1 by default.
- `convert` rounds the converted amount to the functional currency's minor unit with the one money helper.
- A document converts at the rate of its own date (invoice: issue date; payment: payment date; revaluation:
  the period end).
"""

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from psa.core.currency import functional_currency, minor_unit
from psa.core.exceptions import ConflictError
from psa.core.models import ExchangeRate
from psa.core.money import round_amount, to_decimal

ONE = Decimal(1)


class MissingRate(ConflictError):
    """No rate for a currency on or before a date: the document waits until finance enters one."""

    code = "missing_exchange_rate"

    def __init__(self, currency: str, on: date, quote: str):
        self.currency, self.on, self.quote = currency, on, quote
        super().__init__(
            f"No exchange rate from {currency} to {quote} on or before {on:%Y-%m-%d}: "
            f"enter one under Ledger → Exchange rates (or import the ECB reference rates) and try again.",
            fields={"currency": [f"No {currency} → {quote} rate on or before {on:%Y-%m-%d}."]},
        )


@dataclass(frozen=True)
class Rate:
    """A rate as used: the pair, the rate, and the date it was published for (on or before the date asked)."""

    currency: str
    quote: str
    rate: Decimal
    date: date | None  # None when currency == quote (no rate needed)

    @property
    def label(self) -> str:
        if self.date is None:
            return f"{self.currency} (no conversion)"
        return f"1 {self.currency} = {self.rate.normalize():f} {self.quote} ({self.date:%Y-%m-%d})"


def rate_for(*, currency: str, on: date, quote: str | None = None) -> Rate:
    """The rate of `currency` into `quote` (default: the functional currency) for `on`: the latest on or before
    it. One query; none when the two currencies are the same."""
    quote = quote or functional_currency()
    if currency == quote:
        return Rate(currency=currency, quote=quote, rate=ONE, date=None)
    minor_unit(currency)
    row = (
        ExchangeRate.objects.filter(currency=currency, quote=quote, date__lte=on)
        .order_by("-date")
        .values_list("rate", "date")
        .first()
    )
    if row is None:
        raise MissingRate(currency, on, quote)
    return Rate(currency=currency, quote=quote, rate=row[0], date=row[1])


def rates_for(*, pairs: Iterable[tuple[str, date]], quote: str | None = None) -> dict[tuple[str, date], Rate]:
    """`rate_for` for many (currency, date) pairs in one query (the rates of those currencies up to the latest
    date asked, matched in memory); raises MissingRate for the first pair without a rate."""
    quote = quote or functional_currency()
    wanted = sorted(set(pairs))
    found: dict[tuple[str, date], Rate] = {}
    foreign = [(currency, on) for currency, on in wanted if currency != quote]
    for currency, on in wanted:
        if currency == quote:
            found[(currency, on)] = Rate(currency=currency, quote=quote, rate=ONE, date=None)
    if not foreign:
        return found
    for currency in {currency for currency, _ in foreign}:
        minor_unit(currency)
    rows = ExchangeRate.objects.filter(
        currency__in={c for c, _ in foreign}, quote=quote, date__lte=max(on for _, on in foreign)
    ).values_list("currency", "date", "rate")
    by_currency: dict[str, list[tuple[date, Decimal]]] = {}
    for currency, rate_date, rate in rows.order_by("currency", "date"):
        by_currency.setdefault(currency, []).append((rate_date, rate))
    for currency, on in foreign:
        dated = by_currency.get(currency, [])
        i = bisect_right(dated, on, key=lambda r: r[0])
        if i == 0:
            raise MissingRate(currency, on, quote)
        rate_date, rate = dated[i - 1]
        found[(currency, on)] = Rate(currency=currency, quote=quote, rate=rate, date=rate_date)
    return found


def convert(*, amount: Decimal, rate: Rate) -> Decimal:
    """`amount` in `rate.currency` converted into `rate.quote`, rounded to the quote currency's minor unit."""
    return round_amount(to_decimal(amount) * rate.rate, rate.quote)


def rate_history(*, currency: str, since: date, until: date, quote: str | None = None) -> list[tuple[date, Decimal]]:
    """The rates of one pair from `since` to `until`, oldest first (the page's chart). One query."""
    rows = ExchangeRate.objects.filter(
        currency=currency, quote=quote or functional_currency(), date__gte=since, date__lte=until
    ).order_by("date")
    return list(rows.values_list("date", "rate"))


def latest_rate_date(*, currency: str | None = None, quote: str | None = None) -> date | None:
    """The newest date any rate (of `currency`, if named) into `quote` has. One query."""
    rows = ExchangeRate.objects.filter(quote=quote or functional_currency())
    if currency:
        rows = rows.filter(currency=currency)
    return rows.order_by("-date").values_list("date", flat=True).first()
