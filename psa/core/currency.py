"""Currencies: ISO 4217 codes with their minor units, and the functional currency of the books.

The minor units come from the `iso4217` package (the ISO 4217 list: JPY has 0 decimals, EUR and USD 2, BHD 3).
Every amount in a currency is rounded to its minor unit by `psa.core.money.round_amount`.

PSA stores amounts with 2 decimal places (psa.core.money.AMOUNT_FIELD), so it offers the currencies whose minor
unit is 0 or 2; the few with 3 (BHD, KWD, OMR, ...) are refused by name rather than rounded to the cent.

The functional currency is the one the ledger is kept in (DESIGN.md section 5, invariant 11): the setting
PSA_FUNCTIONAL_CURRENCY today, per legal entity once entities exist. Everything else converts into it at a dated
rate (psa.core.fx).
"""

from decimal import Decimal

from django.conf import settings
from iso4217 import Currency

from psa.core.exceptions import ValidationFailed

# The currencies the firm can invoice, quote and be paid in, in the order the forms offer them.
SUPPORTED = (
    "EUR", "USD", "GBP", "CHF", "JPY", "SEK", "DKK", "NOK", "PLN", "CZK", "HUF", "CAD", "AUD", "NZD", "SGD", "HKD",
    "INR", "CNY", "ZAR", "MXN", "BRL",
)  # fmt: skip
STORED_PLACES = 2


def _iso(code: str) -> Currency | None:
    try:
        return Currency(code)
    except ValueError:
        return None


def currency_name(code: str) -> str:
    iso = _iso(code)
    return iso.currency_name if iso is not None else code


# Choices for every model field that holds a currency code.
CURRENCIES = [(code, f"{code} — {currency_name(code)}") for code in SUPPORTED]
CURRENCY_CODES = list(SUPPORTED)


class UnknownCurrency(ValidationFailed):
    code = "unknown_currency"


def minor_unit(code: str) -> int:
    """Decimal places of a currency (ISO 4217 minor unit): JPY 0, EUR 2. An unknown or unsupported code is a
    ValidationFailed naming it."""
    iso = _iso(code) if isinstance(code, str) else None
    if iso is None:
        raise UnknownCurrency(
            f"'{code}' is not an ISO 4217 currency code.", fields={"currency": [f"Unknown currency '{code}'."]}
        )
    places = iso.exponent if iso.exponent is not None else 0
    if places > STORED_PLACES:
        raise UnknownCurrency(
            f"{code} has {places} decimal places; PSA keeps amounts to {STORED_PLACES} places and does not "
            f"support {code}.",
            fields={"currency": [f"{code} is not supported ({places} decimal places)."]},
        )
    return places


def quantum(code: str) -> Decimal:
    """The smallest amount of a currency as a Decimal exponent: Decimal('1') for JPY, Decimal('0.01') for EUR."""
    return Decimal(1).scaleb(-minor_unit(code))


def currency_check(code: str) -> str:
    """The code, upper-cased, if PSA supports it; else a ValidationFailed naming it."""
    code = (code or "").strip().upper()
    minor_unit(code)
    if code not in SUPPORTED:
        raise UnknownCurrency(
            f"{code} is not one of the currencies PSA offers ({', '.join(SUPPORTED)}).",
            fields={"currency": [f"{code} is not offered."]},
        )
    return code


def functional_currency() -> str:
    """The currency the books are kept in."""
    return str(settings.PSA_FUNCTIONAL_CURRENCY)
