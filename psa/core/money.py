"""Money and quantities: Decimal only, one rounding rule.

Amounts carry 2 places, rates and quantities 4, hours 2, exchange rates 10 (DESIGN.md section 4). Every rounding
goes through `round_money` / `round_amount` / `round_to` with ROUND_HALF_UP; totals are sums of rounded parts and
are never rounded again. `round_amount` rounds to a currency's minor unit (psa.core.currency): JPY to the yen.
"""

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TypedDict

from psa.core.currency import quantum
from psa.core.exceptions import ValidationFailed

CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.0001")
HOURS_PLACES = Decimal("0.01")
ZERO = Decimal("0.00")


# What to_decimal accepts: an amount, rate or number of hours as a caller hands it in.
type DecimalInput = Decimal | int | str


class DecimalShape(TypedDict):
    max_digits: int
    decimal_places: int


class DecimalDefault(TypedDict):
    default: Decimal


# Field shapes, shared by every model that stores money, rates or hours.
AMOUNT_FIELD: DecimalShape = {"max_digits": 18, "decimal_places": 2}
RATE_FIELD: DecimalShape = {"max_digits": 18, "decimal_places": 4}
HOURS_FIELD: DecimalShape = {"max_digits": 9, "decimal_places": 2}
# Exchange rates: units of the functional currency for one unit of the foreign one (ECB publishes 4-6 places;
# the inverse of a EUR-based rate needs more to convert large amounts to the cent).
FX_RATE_FIELD: DecimalShape = {"max_digits": 24, "decimal_places": 10}
FX_RATE_PLACES = Decimal("0.0000000001")


class NotANumber(ValidationFailed, ValueError):
    """A value that is not a finite number: a 400 where it reaches the API, a ValueError for callers that
    parse input themselves."""

    code = "not_a_number"


def to_decimal(value: object) -> Decimal:
    """Convert an int, str or Decimal to a finite Decimal; floats are refused (they carry binary noise), and
    so are NaN and Infinity (no amount, rate or number of hours is either)."""
    if isinstance(value, bool | float):
        raise TypeError(f"money values must not be {type(value).__name__}; pass a str or Decimal")
    if isinstance(value, Decimal):
        number = value
    else:
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise NotANumber(f"not a number: {value!r}") from exc
    if not number.is_finite():
        raise NotANumber(f"not a finite number: {value!r}")
    return number


def round_to(value: Decimal, places: Decimal) -> Decimal:
    """Round half up to the given exponent (e.g. CENT)."""
    return to_decimal(value).quantize(places, rounding=ROUND_HALF_UP)


def round_money(value: Decimal) -> Decimal:
    """Round an amount to the cent, half up. The one rounding rule for money."""
    return round_to(value, CENT)


def round_amount(value: Decimal, currency: str) -> Decimal:
    """Round an amount to its currency's minor unit (JPY to the yen, EUR to the cent), half up."""
    return round_to(value, quantum(currency))


def line_net(quantity: Decimal, unit_price: Decimal, currency: str | None = None) -> Decimal:
    """Invoice line net = round(quantity x unit price), once: to the currency's minor unit when given (whole yen
    for JPY), else to the cent."""
    value = to_decimal(quantity) * to_decimal(unit_price)
    return round_amount(value, currency) if currency else round_money(value)


def sum_money(values: Iterable[Decimal]) -> Decimal:
    """Sum already-rounded amounts; the result is exact and is not rounded again."""
    total = ZERO
    for v in values:
        total += to_decimal(v)
    return total


def split_evenly(total: Decimal, parts: int) -> list[Decimal]:
    """Split an amount into `parts` equal cents, the last part taking the remainder.

    1,000.00 over 12 gives 11 x 83.33 and 83.37; the parts always sum back to `total` exactly.
    """
    if parts <= 0:
        raise ValueError("parts must be at least 1")
    total = to_decimal(total)
    if total != round_money(total):
        raise ValueError("total must be a whole number of cents")
    each = (
        (total / parts).quantize(CENT, rounding="ROUND_DOWN")
        if total >= 0
        else -((-total / parts).quantize(CENT, rounding="ROUND_DOWN"))
    )
    result = [each] * (parts - 1)
    result.append(total - each * (parts - 1))
    return result


def allocate(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """Allocate `total` in proportion to `weights`, to the cent, summing back exactly.

    Each share is rounded half up; the last non-zero weight takes the rounding remainder.
    """
    total = to_decimal(total)
    weight_sum = sum((to_decimal(w) for w in weights), Decimal(0))
    if not weights:
        raise ValueError("weights must not be empty")
    if weight_sum == 0:
        raise ValueError("weights must not sum to zero")
    shares = [round_money(total * to_decimal(w) / weight_sum) for w in weights]
    last = max(i for i, w in enumerate(weights) if to_decimal(w) != 0)
    shares[last] += total - sum(shares, Decimal(0))
    return shares
