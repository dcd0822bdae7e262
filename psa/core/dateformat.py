"""The one display format of dates on pages, chosen per user (psa.web preferences), the firm's by default.

Pages show dates with the `day` and `day_time` template filters (psa.core.templatetags.psa_ui), which read the
format of the current request from a context variable the preferences middleware sets. The API, exports, CSV
files and the value of every `<input type=date>` stay ISO 8601: only what a person reads changes.
"""

from collections.abc import Callable
from contextvars import ContextVar
from datetime import date, datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.dates import MONTHS_3


class DateFormat(models.TextChoices):
    # The formats the common tools offer (Harvest, Kantata and Odoo let each user pick one of these).
    ISO = "iso", "2026-12-06 (ISO 8601)"
    MEDIUM = "medium", "06 Dec 2026"
    DMY = "dmy", "06/12/2026 (day/month/year)"
    MDY = "mdy", "12/06/2026 (month/day/year)"
    DMY_DOT = "dmy_dot", "06.12.2026 (day.month.year)"


PATTERNS = {
    DateFormat.ISO: "Y-m-d",
    DateFormat.MEDIUM: "d M Y",
    DateFormat.DMY: "d/m/Y",
    DateFormat.MDY: "m/d/Y",
    DateFormat.DMY_DOT: "d.m.Y",
}

_current: ContextVar[str | None] = ContextVar("psa_date_format", default=None)


def firm_date_format() -> str:
    """The firm's default (PSA_DATE_FORMAT), the format of anyone who has not chosen one."""
    value = str(settings.PSA_DATE_FORMAT)
    return value if value in PATTERNS else DateFormat.ISO


def current_date_format() -> str:
    return _current.get() or firm_date_format()


def date_format_use(key: str | None):
    """Make `key` the format of this request (None: the firm's); returns the token to reset it with."""
    return _current.set(key if key in PATTERNS else None)


def date_format_reset(token) -> None:
    _current.reset(token)


def format_day(value: date | datetime | None, key: str | None = None) -> str:
    """A date (or the local day of a datetime) in the current format; "" for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        value = value.date()
    if not isinstance(value, date):
        return str(value)
    return _WRITERS[key or current_date_format()](value)


def _medium(day: date) -> str:
    return f"{day.day:02d} {str(MONTHS_3[day.month]).title()} {day.year:04d}"


# Each pattern of PATTERNS written directly: Django's formatter (a DateFormat object per call, every character of
# the pattern looked up) cost a list page's hundred dates about 5 ms. A test checks every key against
# django_format(day, PATTERNS[key]); `M` is Django's own (translated) month abbreviation.
_WRITERS: dict[str, Callable[[date], str]] = {
    DateFormat.ISO: lambda day: f"{day.year:04d}-{day.month:02d}-{day.day:02d}",
    DateFormat.MEDIUM: _medium,
    DateFormat.DMY: lambda day: f"{day.day:02d}/{day.month:02d}/{day.year:04d}",
    DateFormat.MDY: lambda day: f"{day.month:02d}/{day.day:02d}/{day.year:04d}",
    DateFormat.DMY_DOT: lambda day: f"{day.day:02d}.{day.month:02d}.{day.year:04d}",
}


def format_day_time(value: datetime | None) -> str:
    """A moment as the day in the current format and the local time (HH:MM)."""
    if value is None or value == "":
        return ""
    if not isinstance(value, datetime):
        return format_day(value)
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{format_day(local.date())} {local:%H:%M}"
