"""Months before the calendar's first, outside a go-live: an administrator adds them from the periods page (or the
service), with a reason, audited; the calendar stays contiguous and each entity's closed months stay a prefix."""

from datetime import date

import pytest
from django.urls import reverse

from ledger.models import AccountingPeriod, JournalEntry, PeriodClose
from ledger.services import periods_earlier_create
from psa.core.entities import entity_default
from psa.core.exceptions import PeriodClosed, PermissionDeniedError, ValidationFailed
from psa.core.models import AuditEvent, LegalEntity
from tests.ledger.factories import balanced, close_month, make_periods, post
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(make_user):
    return make_user("admin")


def _labels() -> list[str]:
    return [p.label for p in AccountingPeriod.objects.order_by("start")]


def test_an_administrator_adds_open_months_before_the_first_and_can_post_into_them(admin):
    make_periods(start=date(2026, 1, 1), through=date(2026, 3, 31))
    made = periods_earlier_create(start=date(2025, 10, 20), by=admin, reason="Invoices from last autumn")
    assert [p.label for p in made.created] == ["2025-10", "2025-11", "2025-12"] and made.closes == []
    assert _labels() == ["2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]
    assert post(balanced("80.00", on=date(2025, 11, 3))).period.label == "2025-11"
    event = AuditEvent.objects.get(action="ledger.periods_earlier_create")
    assert event.actor == admin and "2025-10 to 2025-12" in event.summary and "last autumn" in event.summary


def test_an_entity_that_closed_the_first_month_gets_the_new_months_closed(admin, finance):
    jan = make_periods(start=date(2026, 1, 1), through=date(2026, 2, 28))[0]
    close_month(period_id=jan.pk, by=finance)
    other = LegalEntity.objects.create(
        code="NL", series_prefix="NL", name="Northwind NL", legal_name="Northwind NL BV", country="NL",
        functional_currency=entity_default().functional_currency,
    )  # fmt: skip
    made = periods_earlier_create(start=date(2025, 11, 1), by=admin, reason="Back-dated work")
    default = entity_default()
    assert {(c.period.label, c.entity_id) for c in made.closes} == {("2025-11", default.pk), ("2025-12", default.pk)}
    assert not PeriodClose.objects.filter(entity=other).exists()
    with pytest.raises(PeriodClosed):  # closed for the default entity, as January is
        post(balanced("10.00", on=date(2025, 12, 5)))
    nl = post(balanced("10.00", on=date(2025, 12, 5), entity_id=other.pk))
    assert nl.period.label == "2025-12"
    assert AuditEvent.objects.get(action="ledger.periods_earlier_create").data["closed_for"] == [default.code]


@pytest.mark.parametrize(
    ("start", "reason", "field", "words"),
    [
        (date(2026, 1, 1), "x", "start", "choose a month before it"),
        (date(2026, 2, 1), "x", "start", "choose a month before it"),
        (date(2015, 12, 1), "x", "start", "At most 120 months"),
        (date(2025, 12, 1), "  ", "reason", "reason"),
    ],
)
def test_bad_requests_are_refused_naming_the_field_and_write_nothing(admin, start, reason, field, words):
    make_periods(start=date(2026, 1, 1), through=date(2026, 2, 28))
    with pytest.raises(ValidationFailed, match=words) as refused:
        periods_earlier_create(start=start, by=admin, reason=reason)
    assert field in refused.value.fields
    assert _labels() == ["2026-01", "2026-02"] and not AuditEvent.objects.filter(action__contains="earlier").exists()


def test_only_an_administrator_may_and_an_empty_calendar_is_refused(admin, finance):
    with pytest.raises(ValidationFailed, match="no periods yet"):
        periods_earlier_create(start=date(2025, 12, 1), by=admin, reason="x")
    make_periods(start=date(2026, 1, 1), through=date(2026, 1, 31))
    with pytest.raises(PermissionDeniedError):
        periods_earlier_create(start=date(2025, 12, 1), by=finance, reason="x")
    assert _labels() == ["2026-01"]


def test_the_periods_page_adds_earlier_months_for_an_administrator(client_as):
    make_periods(start=date(2026, 1, 1), through=date(2026, 2, 28))
    client = client_as("admin")
    page = client.get(reverse("ledger:periods"))
    assert page.status_code == 200 and "Add months before 2026-01" in page.content.decode()
    done = client.post(reverse("ledger:periods_earlier"), {"start": "2025-11", "reason": "Late invoices"})
    assert done.status_code == 302
    follow = client.get(done["Location"]).content.decode()
    assert "2 month(s) created, 2025-11 to 2025-12." in follow and "Add months before 2025-11" in follow
    assert _labels()[:2] == ["2025-11", "2025-12"]


def test_a_refused_request_shows_the_page_again_with_the_errors_under_their_fields(client_as):
    make_periods(start=date(2026, 1, 1), through=date(2026, 1, 31))
    client = client_as("admin")
    response = client.post(reverse("ledger:periods_earlier"), {"start": "2026-03", "reason": "typed reason"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "The calendar already starts with 2026-01" in body or "Before 2026-01." in body
    assert 'value="2026-03"' in body and 'value="typed reason"' in body and "is-invalid" in body
    assert 'nav-link active" href="/ledger/periods/"' in body  # still the Periods tab
    response = client.post(reverse("ledger:periods_earlier"), {"start": "last year", "reason": ""})
    body = response.content.decode()
    assert response.status_code == 400 and "Enter a month as YYYY-MM." in body and "This field is required." in body
    assert _labels() == ["2026-01"]


def test_finance_sees_no_form_and_is_refused_and_a_visitor_is_sent_to_log_in(client, client_as):
    make_periods(start=date(2026, 1, 1), through=date(2026, 1, 31))
    url = reverse("ledger:periods_earlier")
    assert client.post(url, {"start": "2025-12", "reason": "x"}).status_code == 302  # to the login page
    finance = client_as("finance")
    assert 'data-testid="period-earlier"' not in finance.get(reverse("ledger:periods")).content.decode()
    assert finance.post(url, {"start": "2025-12", "reason": "x"}).status_code == 403
    assert finance.get(url).status_code == 405
    assert _labels() == ["2026-01"] and not JournalEntry.objects.exists()


def test_the_periods_page_reads_the_same_statements_for_a_longer_calendar(client_as):
    make_periods(start=date(2026, 1, 1), through=date(2026, 3, 31))
    client = client_as("admin")
    client.get(reverse("ledger:periods"))  # the first request's one-off look-ups are not the page's
    small, _ = count_queries(lambda: client.get(reverse("ledger:periods")), status=200)
    make_periods(start=date(2026, 4, 1), through=date(2028, 12, 31))
    large, _ = count_queries(lambda: client.get(reverse("ledger:periods")), status=200)
    assert small == large
