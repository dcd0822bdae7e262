"""Ordinary bad input is a clear refusal, never a server error: the API answers 400 with
{"code", "message", "fields"} naming the field (and JSON even for 404, 405 and 500 under /api/); a page answers
a bad query parameter with its default and a message naming the value, never a 500."""

import datetime as dt

import pytest
from django.test import Client
from django.urls import include, path

from psa import urls as root_urls
from tests.projects.time_factories import MONDAY, consultant_on, won_project

pytestmark = pytest.mark.django_db


def _is_error_body(response, status: int) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert set(body) == {"code", "message", "fields"}, body
    return body


# --- the API ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url, field",
    [
        ("/api/v1/time-entries/?project=abc", "project"),
        ("/api/v1/time-entries/?consultant=abc", "consultant"),
        ("/api/v1/time-entries/?date_from=0001-01-01", "date_from"),
        ("/api/v1/utilization/?end=9999-12-31", "end"),
        ("/api/v1/utilization/?start=0001-01-01", "start"),
        ("/api/v1/dashboard/?end=9999-12-31", "end"),
        ("/api/v1/billing/ar-aging/?as_of=9999-12-31", "as_of"),
        ("/api/v1/billing/invoices/?issued_from=0001-01-01", "issued_from"),
        ("/api/v1/ledger/reports/balance-sheet/?at=0001-01-01", "at"),
        ("/api/v1/ledger/revenue-reports/revenue/?start=0001-01-01&end=2026-12-31", "start"),
        ("/api/v1/opportunities/?amount_min=NaN", "amount_min"),
    ],
)
def test_a_bad_filter_value_is_a_400_naming_the_parameter(api_as, url, field):
    body = _is_error_body(api_as("admin").get(url), 400)
    assert field in body["fields"], body


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_hours_that_are_not_a_finite_number_are_a_400_naming_hours(api_as, value):
    setup = won_project()
    consultant = consultant_on(setup)
    api = api_as("admin")
    body = {"consultant": consultant.pk, "project": setup.project.pk, "date": MONDAY.isoformat(), "hours": value}
    assert "hours" in _is_error_body(api.post("/api/v1/time-entries/", body, format="json"), 400)["fields"]


def test_a_rate_card_without_a_currency_is_a_400_naming_currency(api_as):
    body = _is_error_body(api_as("admin").post("/api/v1/rate-cards/", {"name": "No currency"}, format="json"), 400)
    assert "currency" in body["fields"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/ledger/entries/abc/reverse/",
        "/api/v1/ledger/entries/null,null/reverse/",
        "/api/v1/billing/invoices/abc/issue/",
        "/api/v1/opportunities/1.5/win/",
    ],
)
def test_a_non_numeric_id_in_an_action_path_is_a_400_naming_the_id(api_as, url):
    body = _is_error_body(api_as("admin").post(url, {}, format="json"), 400)
    assert "id" in body["fields"], body


def test_a_non_numeric_id_on_a_detail_path_is_a_400_naming_the_id(api_as):
    assert "id" in _is_error_body(api_as("admin").get("/api/v1/projects/abc/"), 400)["fields"]


def test_an_unknown_api_path_is_a_json_404(api_as):
    assert _is_error_body(api_as("admin").get("/api/v1/no-such-thing/"), 404)["code"] == "not_found"


def test_an_unknown_api_path_is_a_json_404_signed_out_too():
    assert _is_error_body(Client().get("/api/v1/no-such-thing/"), 404)["code"] == "not_found"


def test_a_wrong_method_is_a_json_405(api_as):
    assert _is_error_body(api_as("admin").delete("/api/v1/projects/"), 405)["code"] == "method_not_allowed"


def _explode(request):
    raise RuntimeError("boom")


urlpatterns = [path("api/v1/explode/", _explode), path("explode/", _explode), path("", include("psa.urls"))]
handler500 = root_urls.handler500


@pytest.mark.urls("tests.web.test_bad_input")
def test_an_unexpected_error_under_the_api_is_a_json_500(admin_user):
    browser = Client(raise_request_exception=False)
    browser.force_login(admin_user)
    body = _is_error_body(browser.get("/api/v1/explode/"), 500)
    assert body["code"] == "server_error" and "boom" not in body["message"]


@pytest.mark.urls("tests.web.test_bad_input")
def test_an_unexpected_error_on_a_page_is_still_the_html_500_page(admin_user):
    browser = Client(raise_request_exception=False)
    browser.force_login(admin_user)
    response = browser.get("/explode/")
    assert response.status_code == 500 and response["Content-Type"].startswith("text/html")


# --- the pages --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "role, url, value",
    [
        ("consultant", "/time/?week=0001-01-01", "0001-01-01"),
        ("consultant", "/time/?week=9999-12-31", "9999-12-31"),
        ("admin", "/time/missing/?week=0001-01-01", "0001-01-01"),
        ("admin", "/time/missing/?week=9999-12-31", "9999-12-31"),
        ("admin", "/staffing/heatmap/?start=0001-01-01", "0001-01-01"),
        ("admin", "/staffing/heatmap/?start=9999-12-31", "9999-12-31"),
        ("admin", "/staffing/?start=0001-01-01&end=9999-12-31", "0001-01-01"),
        ("admin", "/utilization/?end=9999-12-31", "9999-12-31"),
        ("admin", "/crm/demand/?start=9999-12-31", "9999-12-31"),
        ("admin", "/dashboard/?end=9999-12-31", "9999-12-31"),
        ("admin", "/dashboard/?end=0001-01-01", "0001-01-01"),
        ("admin", "/exports/?start=0001-01-01", "0001-01-01"),
        ("admin", "/ledger/reports/pnl/?start=0001-01-01&end=9999-12-31&by=month", "0001-01-01"),
        ("admin", "/ledger/reports/balance-sheet/?at=9999-12-31", "9999-12-31"),
        ("admin", "/ledger/revenue/reports/revenue/?start=0001-01-01&end=9999-12-31", "0001-01-01"),
    ],
)
def test_a_page_answers_a_date_out_of_range_with_a_message_not_a_500(client_as, role, url, value):
    browser = client_as(role)
    if role == "consultant":
        consultant_on(won_project(), user=browser.user)
    response = browser.get(url)
    assert response.status_code in (200, 400), response.status_code
    assert value in response.content.decode(), "the page names the value it did not use"


@pytest.mark.parametrize("hours", ["NaN", "Infinity", "-Infinity", "1e999", "sNaN"])
def test_a_timesheet_cell_with_hours_that_are_not_a_number_is_refused_inline(client_as, hours):
    browser = client_as("consultant")
    setup = won_project()
    consultant_on(setup, user=browser.user)
    response = browser.post(
        "/time/cell/", {"project": setup.project.pk, "date": MONDAY.isoformat(), "hours": hours, "note": ""}
    )
    assert response.status_code == 200
    assert "Not saved" in response.content.decode()
    assert not setup.project.time_entries.exists()


def test_a_timesheet_cell_dated_in_year_one_is_refused_inline(client_as):
    browser = client_as("consultant")
    setup = won_project()
    consultant_on(setup, user=browser.user)
    response = browser.post("/time/cell/", {"project": setup.project.pk, "date": "0001-01-01", "hours": "2"})
    assert response.status_code == 200
    assert "0001-01-01" in response.content.decode() or "1900" in response.content.decode()
    assert dt.date(1, 1, 1) not in set(setup.project.time_entries.values_list("date", flat=True))
