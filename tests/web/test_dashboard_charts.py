"""Dashboard charts: each has a visible title tied to it, and the default range starts at the first month with
data instead of spending half the width on empty months (an explicit start is kept as asked)."""

import re
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.selectors.time_summary import SummaryState
from psa.web.dashboard import Dashboard

MONTHS = [date(2026, m, 1) for m in range(1, 13)]


def _dash(first_data: int) -> Dashboard:
    revenue = [None if i < first_data else Decimal("10") for i in range(12)]
    ar = [Decimal("0")] * first_data + [Decimal("5")] * (12 - first_data)
    return Dashboard(MONTHS[0], date(2026, 12, 31), MONTHS, {"revenue": revenue, "ar": ar}, {})


def test_the_default_range_starts_at_the_first_month_with_data():
    dash = _dash(7).from_first_data()
    assert dash.months == MONTHS[7:] and dash.start == date(2026, 8, 1)
    assert dash.series["revenue"] == [Decimal("10")] * 5 and dash.series["ar"] == [Decimal("5")] * 5


def test_the_shortened_range_keeps_the_summarys_as_of_time():
    state = SummaryState(as_of=datetime(2026, 12, 7, 5, 0, tzinfo=UTC), current=True)
    dash = replace(_dash(7), summary=state).from_first_data()
    assert dash.months == MONTHS[7:] and dash.summary == state


def test_a_range_with_little_or_no_data_keeps_a_few_months_and_a_full_one_stays_whole():
    assert _dash(12).from_first_data().months == MONTHS[9:], "no data at all: the last three months"
    assert _dash(11).from_first_data().months == MONTHS[9:]
    assert _dash(0).from_first_data().months == MONTHS


@pytest.mark.django_db
def test_each_chart_has_a_visible_title_that_names_it(client_as):
    page = client_as("finance").get(reverse("dashboard"))
    assert page.status_code == 200
    body = page.content.decode()
    figures = re.findall(
        r'<figure class="mb-0" aria-labelledby="([\w-]+)-title">\s*<h2 [^>]*id="\1-title"[^>]*>([^<]+)</h2>.*?'
        r'<canvas data-chart="\1"',
        body,
        flags=re.S,
    )
    assert len(figures) == 4 and len({title for _, title in figures}) == 4
    for chart in page.context["charts"]:
        # The canvas's text alternative (psa/app.js) starts with the same title.
        assert chart["options"]["plugins"]["title"] == {"display": False, "text": chart["title"]}


@pytest.mark.django_db
def test_with_no_data_the_default_page_shows_three_months_and_an_asked_start_is_kept(client_as):
    c = client_as("finance")
    assert len(c.get(reverse("dashboard")).context["dash"].months) == 3
    asked = c.get(reverse("dashboard"), {"start": "2026-01-01", "end": "2026-12-31"}).context["dash"]
    assert len(asked.months) == 12
