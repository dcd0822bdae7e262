"""Dates that come from outside (query parameters, forms, API bodies, filters) stay within the years the
product handles.

Python's `date` runs from year 1 to 9999, but the product steps weeks, months and periods around every date it
is given (the Monday before, the month after, a year of buckets), and a step past either end is an
`OverflowError`. Nobody books time or invoices in year 1 or 9999, so every date read from outside is refused
outside MIN_DATE..MAX_DATE with a message naming the field: the API answers 400, a form shows the error inline,
a page falls back to its default and says which value it ignored.
"""

from datetime import date, timedelta

from django import forms
from django.contrib import messages

from psa.core.exceptions import ValidationFailed

MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2999, 12, 31)
OUT_OF_RANGE = f"Use a date between {MIN_DATE.isoformat()} and {MAX_DATE.isoformat()}."
NOT_A_DATE = "Use a date as YYYY-MM-DD."


# --- calendar steps: the one definition of a week and a month ------------------------------------------
def week_start(day: date) -> date:
    """The Monday of `day`'s week (ISO weeks: Monday to Sunday)."""
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def next_month(day: date) -> date:
    """The first day of the month after `day`'s month."""
    return month_end(day) + timedelta(days=1)


def months_between(start: date, end: date) -> list[date]:
    """The first day of every month from `start`'s month through `end` (empty when `end` is before it)."""
    months, month = [], month_start(start)
    while month <= end:
        months.append(month)
        month = next_month(month)
    return months


def month_spans(start: date, end: date) -> list[tuple[date, date]]:
    """[start, end] cut at month boundaries: (first day, last day) of each month, clipped to the range."""
    return [(max(month, start), min(month_end(month), end)) for month in months_between(start, end)]


def weekdays_between(first: date, last: date) -> int:
    """Monday-to-Friday days in [first, last], in constant time (0 when `last` is before `first`)."""
    if last < first:
        return 0
    days = (last - first).days + 1
    full, rest = divmod(days, 7)
    return full * 5 + sum(1 for i in range(rest) if (first.weekday() + i) % 7 < 5)


def in_range(day: date) -> bool:
    return MIN_DATE <= day <= MAX_DATE


def parse_date(raw: object, *, field: str) -> date:
    """An ISO date (YYYY-MM-DD) within MIN_DATE..MAX_DATE; anything else is refused naming `field`."""
    try:
        day = date.fromisoformat(str(raw).strip())
    except ValueError:
        raise ValidationFailed(f"'{raw}' is not a date.", fields={field: [NOT_A_DATE]}) from None
    if not in_range(day):
        raise ValidationFailed(f"'{raw}' is out of range.", fields={field: [OUT_OF_RANGE]})
    return day


def date_param(request, name: str, default: date) -> date:
    """A page's date query parameter: its value when it is a date in range, else `default` with a message
    naming the ignored value (a bad bookmark shows the page, not an error)."""
    raw = request.GET.get(name, "")
    if not raw:
        return default
    try:
        return parse_date(raw, field=name)
    except ValidationFailed as exc:
        problem = exc.fields[name][0]
        messages.warning(request, f"Ignored {name}={raw}: {problem} Showing {default.isoformat()} instead.")
        return default


class DateFormField(forms.DateField):
    """A form's date field that refuses dates outside MIN_DATE..MAX_DATE."""

    default_error_messages = {"out_of_range": OUT_OF_RANGE}

    def to_python(self, value):
        day = super().to_python(value)
        if day is not None and not in_range(day):
            raise forms.ValidationError(self.error_messages["out_of_range"], code="out_of_range")
        return day
