"""Finance in Chromium sees how old the approved-time figures are on the dashboard and the exception queue, at
desktop and phone widths."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.services.time_summary import time_summary_refresh
from psa.web.demo import DEMO_PASSWORD, seed_users
from tests.billing.factories import approved_entry, make_consultant, make_periods, tm_contract

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_the_pages_show_the_summary_as_of_time(transactional_db, page, login, screenshot):
    seed_users()
    today = timezone.localdate()
    make_periods(start=today - timedelta(days=400), through=today + timedelta(days=60))
    _c, line = tm_contract(start=today - timedelta(days=200), end=today + timedelta(days=30))
    ada = make_consultant()
    for days in (5, 40, 75):
        approved_entry(line, ada, today - timedelta(days=days), "6", "110")
    time_summary_refresh()
    login("finance", DEMO_PASSWORD)
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        for url, name in (("/dashboard/", "dashboard"), ("/exceptions/", "exceptions")):
            page.goto(url)
            note = page.locator("[data-testid=time-summary-note]")
            assert note.is_visible() and "Approved-time figures as of" in note.inner_text()
            screenshot(page, f"web-time-summary-{name}-{width}")
