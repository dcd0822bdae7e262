"""The demo's exchange rates: a year of business-day rates for USD, GBP, CHF and JPY (and EUR when the books are
not in EUR) into the functional currency, source "demo", so the demo's foreign-currency invoices convert.

Deterministic: each rate is a function of its date alone (a level around today's market plus two smooth waves of
a year and of ~two months), computed in Decimal and rounded to 6 significant digits as the ECB publishes them.
Seeded first (psa.web.demo, right after the users), before any app's documents need a rate. Idempotent: a date
that has a rate (the demo's or one finance entered) is left as it is.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from psa.core.currency import functional_currency
from psa.core.models import ExchangeRate, RateSource
from psa.core.money import round_to

# One unit of each currency in EUR, around late 2026, and the phase of its waves (so they do not move together).
LEVELS_IN_EUR = {
    "EUR": (Decimal("1"), Decimal("0")),
    "USD": (Decimal("0.92"), Decimal("0.10")),
    "GBP": (Decimal("1.17"), Decimal("0.35")),
    "CHF": (Decimal("1.05"), Decimal("0.60")),
    "JPY": (Decimal("0.0061"), Decimal("0.85")),
}
DEMO_CURRENCIES = ("USD", "GBP", "CHF", "JPY", "EUR")
DAYS = 366
EPOCH = date(2000, 1, 3)
YEAR_SWING = Decimal("0.03")  # +-3 % over a year
SHORT_SWING = Decimal("0.008")  # +-0.8 % over ~two months
# f(t) = t (1 - t) (1 - 2t) is a smooth wave over one period (equal slopes at both ends) peaking at +-1/(6 sqrt 3).
WAVE_SCALE = Decimal("10.392304845")


def _wave(days: int, period: int, phase: Decimal) -> Decimal:
    """A smooth periodic wave between -1 and 1, in Decimal (no float, no trigonometry)."""
    t = (Decimal(days % period) / period + phase) % 1
    return WAVE_SCALE * t * (1 - t) * (1 - 2 * t)


def _in_eur(currency: str, day: date) -> Decimal:
    level, phase = LEVELS_IN_EUR[currency]
    if currency == "EUR":
        return level
    days = (day - EPOCH).days
    return level * (1 + YEAR_SWING * _wave(days, 365, phase) + SHORT_SWING * _wave(days, 61, phase * 2))


def _significant(value: Decimal, digits: int = 6) -> Decimal:
    return round_to(value, Decimal(1).scaleb(value.adjusted() - digits + 1))


def demo_rate(currency: str, quote: str, day: date) -> Decimal:
    """The demo's rate of `currency` into `quote` on `day`."""
    return _significant(_in_eur(currency, day) / _in_eur(quote, day))


def seed(today: date | None = None) -> list[str]:
    quote = functional_currency()
    if quote not in LEVELS_IN_EUR:
        return [f"exchange rates: no demo levels for {quote}, none seeded"]
    today = today or timezone.localdate()
    days = [today - timedelta(days=n) for n in range(DAYS)]
    rows = [
        ExchangeRate(currency=c, quote=quote, date=day, rate=demo_rate(c, quote, day), source=RateSource.DEMO)
        for day in days
        if day.weekday() < 5
        for c in DEMO_CURRENCIES
        if c != quote
    ]
    before = ExchangeRate.objects.count()
    ExchangeRate.objects.bulk_create(rows, batch_size=2000, ignore_conflicts=True)
    added = ExchangeRate.objects.count() - before
    return [f"exchange rates: {added} demo rates added into {quote} ({len(rows) - added} already there)"]
