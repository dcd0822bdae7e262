"""Template helpers shared by every list and page."""

from datetime import date
from decimal import Decimal

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from psa.core.currency import UnknownCurrency, minor_unit
from psa.core.dateformat import format_day, format_day_time
from psa.core.forms import plain_message
from psa.core.kpis import KPIS, kpi_definitions
from psa.core.labels import person_name
from psa.core.totals import CurrencyTotals

register = template.Library()


@register.filter
def day(value):
    """A date as this user reads dates (psa.core.dateformat): the one display format of every page. Anything
    that is not a date passes through unchanged (a table cell may hold either)."""
    return format_day(value) if isinstance(value, date) else value


@register.filter
def day_time(value) -> str:
    """A moment as the user's date format and the local time."""
    return format_day_time(value)


@register.filter
def plain_error(message) -> str:
    """A refusal as a page shows it: no rule codes, no "__all__:" prefix (psa.core.forms.plain_message)."""
    return plain_message(message)


@register.simple_tag(takes_context=True)
def query_with(context, **changes) -> str:
    """The current query string with some parameters replaced (pagination and sort links keep filters)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = value
    if "sort" in changes:
        params.pop("page", None)
    return params.urlencode()


@register.simple_tag(takes_context=True)
def sort_link(context, field: str, label: str) -> str:
    """A column header that sorts by `field`, toggling direction, with an arrow on the active column."""
    request = context["request"]
    current = request.GET.get("sort", "")
    if current == field:
        target, arrow = f"-{field}", " ▲"
    elif current == f"-{field}":
        target, arrow = field, " ▼"
    else:
        target, arrow = field, ""
    params = request.GET.copy()
    params["sort"] = target
    params.pop("page", None)
    return format_html(
        '<a class="text-reset text-decoration-none" href="?{}">{}<span aria-hidden="true">{}</span></a>',
        params.urlencode(),
        label,
        arrow,
    )


@register.simple_tag(takes_context=True)
def sort_aria(context, field: str) -> str:
    """The `aria-sort` attribute of a sortable column's <th> (only on the column the list is sorted by)."""
    current = context["request"].GET.get("sort", "")
    if current == field:
        return mark_safe(' aria-sort="ascending"')
    if current == f"-{field}":
        return mark_safe(' aria-sort="descending"')
    return ""


def _places(currency: str) -> int:
    try:
        return minor_unit(currency) if currency else 2
    except UnknownCurrency:
        return 2


@register.filter
def money(value, currency: str = "") -> str:
    """1234.5 -> '1,234.50' (with the currency code when given, and its minor unit: JPY '1,234'). Decimal in,
    never float."""
    if value is None or value == "":
        return "—"
    amount = Decimal(value)
    text = f"{amount:,.{_places(currency)}f}"
    return f"{text} {currency}".strip()


@register.filter
def negate(value):
    """-value, for a figure shown as a deduction ('Billed -1,200.00'): the money filter writes the sign, so
    every negative figure on a page carries the same minus (ASCII '-', as the exports and the API)."""
    if value is None or value == "":
        return value
    return -Decimal(value)


@register.filter
def amount_in(value, currency: str) -> str:
    """The code first, as in a total across currencies: 'USD 12,000.00', 'JPY 150,000'."""
    if value is None or value == "":
        return "—"
    return f"{currency} {Decimal(value):,.{_places(currency)}f}"


@register.inclusion_tag("includes/currency_totals.html")
def fx_totals(totals: CurrencyTotals, variant: str = "inline", testid: str = "") -> dict:
    """A total across currencies (psa.core.totals): 'USD 12,000.00 · GBP 3,000.00 → EUR 14,630.00 at
    1 USD = 0.92 EUR, 1 GBP = 1.17 EUR (rates of 2026-12-04)'. One currency: just 'EUR 12,000.00'. A missing
    rate: the per-currency figures and a warning naming the currency and date, no converted total.
    `variant` "figure" renders the big number of a figure card with the breakdown beneath; "cell" a table cell
    (each currency on its line, the converted total beneath; the page names the rates once)."""
    return {"t": totals, "variant": variant, "testid": testid}


@register.filter
def hours(value) -> str:
    if value is None or value == "":
        return "—"
    return f"{Decimal(value):,.2f}"


@register.filter
def percent(value, places: int = 0) -> str:
    if value is None or value == "":
        return "—"
    return f"{Decimal(value):.{int(places)}f}%"


@register.simple_tag
def kpi_label(key: str) -> str:
    """A figure's label with its formula as a tooltip (psa.core.kpis: one definition per figure)."""
    kpi = KPIS[key]
    return format_html(
        '<span class="psa-kpi" title="{}: {}" data-kpi="{}">{} <i class="bi bi-info-circle small text-body-secondary" '
        'aria-hidden="true"></i></span>',
        kpi.label,
        kpi.formula,
        key,
        kpi.label,
    )


@register.inclusion_tag("includes/kpi_definitions.html")
def kpi_definitions_list(keys: str = "", title: str = "What these figures mean") -> dict:
    """The definitions list of the figures `keys` (space-separated; every one when empty)."""
    return {"definitions": kpi_definitions(*keys.split()), "title": title}


@register.simple_tag
def kpi_formula(key: str) -> str:
    """A figure's formula as psa.core.kpis defines it."""
    return KPIS[key].formula


@register.filter
def person(user, default: str = "") -> str:
    """A user by full name, by username when unnamed (psa.core.labels); `default` when there is no user."""
    return person_name(user) or default
