"""Revenue and month-end pages and API: finance only, refusals with the right status, CSV that matches the
page, the checklist with billing's items, and query counts that do not grow with rows."""

from datetime import date

import pytest

from billing.models import Invoice
from ledger.models import RecognitionRun, RevenueSchedule
from ledger.services.revenue import recognition_run, recognition_run_execute, revenue_schedules_ensure
from tests.billing.factories import accept_milestone, make_contract, make_line
from tests.ledger.revenue_factories import approved_time, books, close, period, zero_tax_account
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db

PAGES = [
    "/ledger/revenue/",
    "/ledger/revenue/runs/",
    "/ledger/month-end/",
    "/ledger/revenue/reports/revenue/",
    "/ledger/revenue/reports/rollforward/",
    "/ledger/revenue/reports/backlog/",
    "/ledger/revenue/reports/margin/",
    "/ledger/revenue/reports/forecast/",
]
API = "/api/v1/ledger/"
RANGE = "?start=2026-01-01&end=2026-12-31"


@pytest.fixture
def firm(db):
    books()
    contract = make_contract(zero_tax_account())
    line = make_line(contract, "milestone", price="1000.00")
    accept_milestone(line, "1000.00", on=date(2026, 1, 15))
    tm = make_line(contract, "tm", price="0.00")
    approved_time(contract.project, tm, date(2026, 1, 20), "2.00", rate="150")
    return contract


@pytest.mark.parametrize("role", ["sales", "project_manager", "consultant", "client"])
def test_other_roles_get_403_on_every_revenue_page_and_endpoint(client_as, api_as, firm, role):
    web = client_as(role)
    for url in PAGES:
        assert web.get(url).status_code == 403, url
    api = api_as(role)
    for url in ("recognition-runs/", "revenue-schedules/", f"revenue-reports/rollforward/{RANGE}"):
        assert api.get(API + url).status_code == 403, url
    assert api.post(API + "recognition-runs/", {"period": period(date(2026, 1, 1)).pk}).status_code == 403
    assert not RecognitionRun.objects.exists()


def test_finance_sees_every_page_and_its_csv(client_as, firm):
    web = client_as("finance")
    recognition_run(period_id=period(date(2026, 1, 1)).pk, by=web.user)
    for url in PAGES:
        response = web.get(url, follow=True)
        assert response.status_code == 200, url
    csv = web.get(f"/ledger/revenue/reports/revenue/{RANGE}&by=method&format=csv").content.decode()
    assert csv.splitlines() == [
        "method,currency,revenue",
        '"As delivered (approved hours x snapshot rate, plus re-billed expenses)",EUR,300.00',
        "At milestone acceptance,EUR,1000.00",
        "Total,EUR,1300.00",
    ]
    rollforward = web.get(f"/ledger/revenue/reports/rollforward/{RANGE}&format=csv").content.decode().splitlines()
    assert rollforward[-1] == "Total,,0.00,0.00,1300.00,0.00,1300.00,1300.00,0.00"
    page = web.get(f"/ledger/revenue/reports/rollforward/{RANGE}").content.decode()
    assert "Reconciles to the GL to the cent" in page


def test_finance_starts_a_run_from_the_page_and_sees_its_progress(client_as, firm):
    web = client_as("finance")
    response = web.post("/ledger/revenue/runs/start/", {"period": period(date(2026, 1, 1)).pk})
    run = RecognitionRun.objects.get()
    assert response.status_code == 302 and response.url == f"/ledger/revenue/runs/{run.pk}/"
    assert "0 / 0 contract lines" in web.get(f"/ledger/revenue/runs/{run.pk}/progress/").content.decode()
    recognition_run_execute(run_id=run.pk)  # what the worker does
    fragment = web.get(f"/ledger/revenue/runs/{run.pk}/progress/", HTTP_HX_REQUEST="true")
    assert "2 / 2 contract lines" in fragment.content.decode() and fragment["HX-Refresh"] == "true"


def test_a_run_into_a_closed_month_is_refused_on_the_page_and_in_the_api(client_as, api_as, firm):
    web = client_as("finance")
    close(date(2026, 1, 1), web.user)
    runs = RecognitionRun.objects.count()  # January's, run before its close
    response = web.post("/ledger/revenue/runs/start/", {"period": period(date(2026, 1, 1)).pk}, follow=True)
    assert "Pick an open month" in response.content.decode()
    api = api_as("finance")
    response = api.post(API + "recognition-runs/", {"period": period(date(2026, 1, 1)).pk}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "period_closed"
    assert RecognitionRun.objects.count() == runs


def test_the_api_starts_a_run_and_refuses_a_wrong_method_and_a_negative_estimate(api_as, firm):
    api = api_as("finance")
    response = api.post(API + "recognition-runs/", {"period": period(date(2026, 2, 1)).pk}, format="json")
    assert response.status_code == 202 and response.json()["status"] == "running"
    revenue_schedules_ensure()
    tm = RevenueSchedule.objects.get(contract_line__billing_model="tm")
    response = api.post(API + f"revenue-schedules/{tm.pk}/method/", {"method": "milestone"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "method_mismatch"
    assert "method" in response.json()["fields"]
    response = api.post(API + "estimates/", {"project": firm.project_id, "etc_hours": "-3"}, format="json")
    assert response.status_code == 400 and "etc_hours" in response.json()["fields"]
    response = api.post(API + "estimates/", {"project": 999999, "etc_hours": "3"}, format="json")
    assert response.status_code == 404


def test_the_checklist_lists_billing_items_then_finance_runs_and_closes(client_as, api_as, firm):
    web = client_as("finance")
    jan = period(date(2026, 1, 1))
    Invoice.objects.create(account=firm.account, project=firm.project, buyer_name="x", period_end=date(2026, 1, 31))
    body = api_as("finance").get(API + f"revenue-reports/checklist/{jan.pk}/").json()
    items = {i["key"]: i for i in body["items"]}
    assert items["draft_invoices"]["count"] == 1
    assert items["unbilled_time"]["count"] == 1  # the 2 h approved on the T&M line
    assert items["recognition"]["done"] is False and items["recognition"]["blocking"] is True
    refused = web.post(f"/ledger/month-end/{jan.pk}/close/", {"reason": "month end"}, follow=True)
    assert "cannot close yet" in refused.content.decode()
    jan.refresh_from_db()
    assert jan.is_open

    recognition_run(period_id=jan.pk, by=web.user)
    web.post(f"/ledger/month-end/{jan.pk}/close/", {"reason": "month end"})
    jan.refresh_from_db()
    assert not jan.is_open


def test_report_and_list_query_counts_do_not_grow_with_rows(client_as, firm):
    web = client_as("finance")
    first = recognition_run(period_id=period(date(2026, 1, 1)).pk, by=web.user)
    urls = ["/ledger/revenue/", f"/ledger/revenue/reports/rollforward/{RANGE}", "/ledger/month-end/{}/"]

    def counts(run) -> list[int]:
        pages = [*urls[:2], urls[2].format(run.period_id), f"/ledger/revenue/runs/{run.pk}/"]
        return [count_queries(lambda url=url: web.get(url))[0] for url in pages]

    small = counts(first)
    for _ in range(5):
        contract = make_contract(zero_tax_account())
        line = make_line(contract, "milestone", price="100.00")
        accept_milestone(line, "100.00", on=date(2026, 2, 10))
    second = recognition_run(period_id=period(date(2026, 2, 1)).pk, by=web.user)
    assert second.posted_lines == 5 and first.posted_lines == 2
    assert counts(second) == small
