"""One date format per person: each page shows every date in the format the user picked (the firm's by
default), never two formats on one page; date inputs and the API stay ISO."""

import re
from datetime import UTC, date, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from projects.models import Contract
from projects.services import expenses as ex
from projects.services import time as ts
from psa.core.dateformat import DateFormat, date_format_reset, date_format_use, format_day, format_day_time
from psa.web.models import UserPreference
from tests.billing.factories import issued_invoice, make_periods
from tests.projects.time_factories import MONDAY, consultant_on, won_project

MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
SHAPES = {
    DateFormat.ISO: re.compile(r"(?<![\d-])\d{4}-\d{2}-\d{2}(?![\d-])"),
    DateFormat.MEDIUM: re.compile(rf"\b\d{{1,2}} (?:{MONTHS}) \d{{4}}\b"),
    "slashes": re.compile(r"\b\d{2}/\d{2}/\d{4}\b"),
    DateFormat.DMY_DOT: re.compile(r"\b\d{2}\.\d{2}\.\d{4}\b"),
    "django default": re.compile(rf"\b(?:{MONTHS})[a-z]*\.? \d{{1,2}}, \d{{4}}\b"),
}


def dates_shown(html: str) -> dict[str, list[str]]:
    """The dates in what a person reads, by format: text outside tags, scripts and styles (input values are
    ISO and not read)."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]*>", " ", text)
    return {str(name): found for name, shape in SHAPES.items() if (found := shape.findall(text))}


@pytest.mark.parametrize(
    ("key", "shown"),
    [("iso", "2026-12-06"), ("medium", "06 Dec 2026"), ("dmy", "06/12/2026"), ("mdy", "12/06/2026"),
     ("dmy_dot", "06.12.2026")],
)  # fmt: skip
def test_each_format_writes_a_day_as_its_example(key, shown):
    token = date_format_use(key)
    try:
        assert format_day(date(2026, 12, 6)) == shown
        assert format_day_time(datetime(2026, 12, 6, 9, 30, tzinfo=UTC)).startswith(shown)
    finally:
        date_format_reset(token)


def test_each_format_writes_every_day_as_djangos_date_format_would():
    # format_day writes the digits itself (Django's formatter cost a list page's hundred dates 5 ms); the
    # patterns in PATTERNS are the definition it must agree with, across years, months and both day widths.
    from django.utils.dateformat import format as django_format

    from psa.core.dateformat import PATTERNS

    days = [date(y, m, d) for y in (1, 999, 2026, 9999) for m in range(1, 13) for d in (1, 9, 28)]
    for key, pattern in PATTERNS.items():
        for day in days:
            assert format_day(day, key) == django_format(day, pattern), (key, day)


@pytest.mark.django_db
def test_a_user_picks_a_format_on_the_preferences_page_and_a_bad_one_is_refused(client_as):
    c = client_as("consultant")
    url = reverse("preferences")
    page = c.get(url)
    assert page.status_code == 200 and "The firm&#x27;s default" in page.content.decode()
    assert c.post(url, {"date_format": "yyyy"}).status_code == 400
    assert not UserPreference.objects.exists()
    assert c.post(url, {"date_format": "iso"}).status_code == 302
    assert UserPreference.objects.get().date_format == "iso"
    assert c.session["psa_date_format"] == "iso"


@pytest.fixture
def firm(make_user, client_as):
    make_periods()
    finance = make_user("finance")
    invoice = issued_invoice(finance, "1000.00")
    setup = won_project()
    carl = consultant_on(setup)
    ts.time_entry_put(by=carl.user, consultant_id=carl.pk, project_id=setup.project.pk, task_id=None, day=MONDAY,
                      hours="8")  # fmt: skip
    ex.expense_create(
        by=carl.user, consultant_id=carl.pk, project_id=setup.project.pk, day=MONDAY, category="travel",
        amount="80", currency="EUR", receipt=SimpleUploadedFile("r.pdf", b"%PDF-1.4 x"),
    )  # fmt: skip
    return finance, invoice, setup, carl


def _pages(firm):
    finance, invoice, setup, carl = firm
    week = {"week": MONDAY.isoformat()}
    return [
        (finance, reverse("home"), {}),
        (finance, reverse("billing:invoice-list"), {}),
        (finance, reverse("billing:invoice-detail", args=[invoice.pk]), {}),
        (finance, reverse("billing:ar"), {}),
        (setup.pm, reverse("home"), {}),
        (setup.pm, reverse("projects:list"), {}),
        (setup.pm, reverse("projects:project", args=[setup.project.pk]), {}),
        (finance, reverse("audit-fragment", args=["contract", Contract.objects.get(project=setup.project).pk]), {}),
        (carl.user, reverse("home"), {}),
        (carl.user, reverse("projects:timesheet"), week),
        (carl.user, reverse("projects:expenses"), {}),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("key", [DateFormat.ISO, DateFormat.MEDIUM, DateFormat.DMY_DOT, None])
def test_the_main_pages_show_dates_in_one_format_the_users_or_the_firms(client, firm, settings, key):
    settings.PSA_DATE_FORMAT = "medium"
    expected = str(key or DateFormat.MEDIUM)
    for user, url, params in _pages(firm):
        if key:
            UserPreference.objects.update_or_create(user=user, defaults={"date_format": key})
        client.force_login(user)  # the choice reaches the session at sign-in
        page = client.get(url, params)
        assert page.status_code == 200, url
        shown = dates_shown(page.content.decode())
        assert set(shown) <= {expected}, f"{url} as {user}: {shown}"
    assert 'type="date"' in client.get(reverse("projects:expenses")).content.decode(), "inputs stay date pickers"
