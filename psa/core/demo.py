"""The demo's legal entities and exchange rates.

Entities (`seed_entities`): the firm's three companies. Northwind Consulting GmbH in Berlin is the default entity,
seeded from the PSA_FIRM_* settings as any firm's first one (psa.core.entities.entity_default), then given the
details the settings do not carry (tax number, register entry, footer). Northwind Consulting UK Ltd (London,
series prefix GB) and Northwind Consulting Inc. (New York, prefix US) each have ids with valid check digits and a
bank account. Their functional currency is the firm's (EUR): the ledger keeps every entity's books in the one
functional currency of the settings so far, so a GBP or USD entity would claim books the ledger does not keep.
Idempotent: an entity that exists (by code) is left as it is, and a detail the firm filled in is never replaced.

Exchange rates: a year of business-day rates for USD, GBP, CHF and JPY (and EUR when the books are
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
from psa.core.entities import (
    ENTITY_FIELDS,
    bank_account_add,
    entity_create,
    entity_default,
    entity_errors,
    entity_update,
)
from psa.core.models import ExchangeRate, LegalEntity, RateSource
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


# code -> the entity's values (without its functional currency: the firm's) and its bank accounts.
ENTITIES: dict[str, tuple[dict[str, str | int], list[dict[str, str]]]] = {
    "UK": (
        {
            "series_prefix": "GB", "name": "Northwind UK", "legal_name": "Northwind Consulting UK Ltd",
            "street": "1 King Street", "postcode": "EC2V 8AU", "city": "London", "country": "GB",
            "vat_id": "GB123456727", "tax_number": "1955839661", "registration": "Registered in England and Wales, "
            "company no. 01234567", "email": "accounts@northwind-uk.example", "fiscal_year_start_month": 4,
            "invoice_footer": "Northwind Consulting UK Ltd · Registered office 1 King Street, London EC2V 8AU · "
            "Registered in England and Wales no. 01234567 · VAT GB123456727",
        },
        [
            {"iban": "GB33BUKB20201555555555", "bic": "BUKBGB22", "bank_name": "Barclays Bank", "currency": "GBP"},
            {"iban": "GB29NWBK60161331926819", "bic": "NWBKGB2L", "bank_name": "NatWest", "currency": "EUR"},
        ],
    ),
    "US": (
        {
            "series_prefix": "US", "name": "Northwind US", "legal_name": "Northwind Consulting Inc.",
            "street": "350 Fifth Avenue", "postcode": "10118", "city": "New York", "country": "US",
            "tax_number": "04-2103594", "registration": "Delaware corporation, file no. 7654321",
            "email": "accounts@northwind-us.example",
            "invoice_footer": "Northwind Consulting Inc. · 350 Fifth Avenue, New York, NY 10118 · EIN 04-2103594",
        },
        [{"iban": "GB71CITI18500812345678", "bic": "CITIGB2L", "bank_name": "Citibank London", "currency": "USD"}],
    ),
}  # fmt: skip
# What the default entity gets beyond the PSA_FIRM_* settings, where it has nothing yet.
DEFAULT_DETAILS = {
    "tax_number": "2181508150",
    "registration": "HRB 123456 B, Amtsgericht Berlin (Charlottenburg)",
    "invoice_footer": "Northwind Consulting GmbH · 12 Harbour Street, 10115 Berlin · HRB 123456 B, Amtsgericht "
    "Berlin (Charlottenburg) · Managing director: Ada Admin",
}


def seed_entities(*, by) -> list[str]:
    """The demo's three entities (see the module's docstring); `by` is the demo's administrator."""
    default = entity_default()
    missing = {k: v for k, v in DEFAULT_DETAILS.items() if not getattr(default, k)}
    # Completed only when the settings gave it a legal name and a country (else the firm has not set it up yet).
    if missing and not entity_errors({f: getattr(default, f) for f in ENTITY_FIELDS}):
        entity_update(by=by, entity_id=default.pk, values=missing)
    created = 0
    for code, (values, accounts) in ENTITIES.items():
        if LegalEntity.objects.filter(code=code).exists():
            continue
        entity = entity_create(by=by, values={"code": code, "functional_currency": functional_currency(), **values})
        for account in accounts:
            bank_account_add(
                by=by,
                entity_id=entity.pk,
                iban=account["iban"],
                bic=account["bic"],
                bank_name=account["bank_name"],
                currency=account["currency"],
            )
        created += 1
    return [f"entities: {created} created, default {default.code} ({default.legal_name})"]


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
