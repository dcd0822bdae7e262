"""The one definition of a week and a month (psa.core.dates) that every app steps its calendars with."""

from datetime import date, timedelta

import pytest

from psa.core.dates import (
    month_end,
    month_spans,
    month_start,
    months_between,
    next_month,
    week_start,
    weekdays_between,
)


@pytest.mark.parametrize(
    ("day", "start", "end", "following"),
    [
        (date(2026, 1, 31), date(2026, 1, 1), date(2026, 1, 31), date(2026, 2, 1)),
        (date(2024, 2, 10), date(2024, 2, 1), date(2024, 2, 29), date(2024, 3, 1)),
        (date(2026, 2, 28), date(2026, 2, 1), date(2026, 2, 28), date(2026, 3, 1)),
        (date(2026, 12, 6), date(2026, 12, 1), date(2026, 12, 31), date(2027, 1, 1)),
    ],
)
def test_month_steps(day, start, end, following):
    assert (month_start(day), month_end(day), next_month(day)) == (start, end, following)


def test_week_starts_on_monday():
    assert week_start(date(2026, 12, 6)) == date(2026, 11, 30)  # a Sunday
    assert week_start(date(2026, 11, 30)) == date(2026, 11, 30)


def test_months_between_and_spans():
    assert months_between(date(2026, 11, 15), date(2027, 1, 2)) == [
        date(2026, 11, 1),
        date(2026, 12, 1),
        date(2027, 1, 1),
    ]
    assert months_between(date(2026, 3, 1), date(2026, 2, 1)) == []
    assert month_spans(date(2026, 1, 20), date(2026, 3, 5)) == [
        (date(2026, 1, 20), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 5)),
    ]


def test_weekdays_between_matches_counting_day_by_day():
    first = date(2026, 1, 1)
    for span in range(-1, 40):
        last = first + timedelta(days=span)
        counted = sum(1 for i in range(span + 1) if (first + timedelta(days=i)).weekday() < 5)
        assert weekdays_between(first, last) == counted
