"""The labour cost page and API: finance starts a run and reads its result; other roles are refused; the lists
send the same number of queries at two sizes; the run's own query count does not grow with the entries."""

from datetime import date

import pytest
from django.db import transaction

from ledger.choices import CostRunStatus
from ledger.models import CostPostingRun
from ledger.services.cost_posting import cost_posting_execute, cost_posting_run
from tests.billing.factories import make_contract, make_line
from tests.ledger.cost_factories import cost_entries, person
from tests.ledger.revenue_factories import approved_time, books, period, zero_tax_account
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db

JAN = date(2026, 1, 1)


@pytest.fixture
def jan(db):
    books()
    return period(JAN)


def _work(n: int, *, entries_each: int = 1) -> None:
    for _ in range(n):
        contract = make_contract(zero_tax_account())
        line = make_line(contract, "tm", price="0.00")
        who = person()
        for day in range(entries_each):
            approved_time(contract.project, line, date(2026, 1, 5 + day), "2.00", cost="40", who=who)


@pytest.mark.parametrize("role", ["sales", "project_manager", "consultant", "client"])
def test_other_roles_get_403_on_the_page_and_the_api(client_as, api_as, jan, role):
    web = client_as(role)
    assert web.get("/ledger/labour-cost/").status_code == 403
    assert web.post("/ledger/labour-cost/start/", {"period": jan.pk}).status_code == 403
    api = api_as(role)
    assert api.get("/api/v1/ledger/cost-runs/").status_code == 403
    assert api.post("/api/v1/ledger/cost-runs/", {"period": jan.pk}, format="json").status_code == 403
    assert not CostPostingRun.objects.exists()


def test_finance_starts_a_run_on_the_page_and_reads_progress_and_result(client_as, jan):
    _work(2)
    web = client_as("finance")
    assert web.get("/ledger/labour-cost/").status_code == 200
    response = web.post("/ledger/labour-cost/start/", {"period": jan.pk, "entity": ""})
    run = CostPostingRun.objects.get()
    assert response.status_code == 302 and response.url == f"/ledger/labour-cost/runs/{run.pk}/"
    cost_posting_execute(run_id=run.pk)  # what the worker does
    fragment = web.get(f"/ledger/labour-cost/runs/{run.pk}/progress/", HTTP_HX_REQUEST="true")
    assert "2 / 2 project-months" in fragment.content.decode() and fragment["HX-Refresh"] == "true"
    detail = web.get(f"/ledger/labour-cost/runs/{run.pk}/").content.decode()
    assert all(e.number in detail for e in cost_entries()) and "2 projects posted" in detail
    assert "160.00" in web.get("/ledger/labour-cost/").content.decode()


def test_the_page_refuses_a_missing_month_in_plain_words(client_as, jan):
    web = client_as("finance")
    response = web.post("/ledger/labour-cost/start/", {"period": ""}, follow=True)
    assert "Pick a month" in response.content.decode() and not CostPostingRun.objects.exists()


def test_the_api_starts_a_run_reads_it_and_refuses_unknown_ids(api_as, jan):
    _work(1)
    api = api_as("finance")
    started = api.post("/api/v1/ledger/cost-runs/", {"period": jan.pk}, format="json", HTTP_IDEMPOTENCY_KEY="c1")
    again = api.post("/api/v1/ledger/cost-runs/", {"period": jan.pk}, format="json", HTTP_IDEMPOTENCY_KEY="c1")
    assert started.status_code == 202 and again.json()["id"] == started.json()["id"]
    run_id = started.json()["id"]
    cost_posting_execute(run_id=run_id)
    read = api.get(f"/api/v1/ledger/cost-runs/{run_id}/").json()
    assert (read["status"], read["projects"], read["entries"], read["amount"]) == ("done", 1, 1, "80.00")
    assert api.post("/api/v1/ledger/cost-runs/", {"period": 999999}, format="json").status_code == 404
    missing_entity = api.post("/api/v1/ledger/cost-runs/", {"period": jan.pk, "entity": 999999}, format="json")
    assert missing_entity.status_code == 404 and "entity" in missing_entity.json()["message"]
    bad = api.post("/api/v1/ledger/cost-runs/", {"period": "January"}, format="json")
    assert bad.status_code == 400 and "period" in str(bad.json())


def test_the_page_and_the_list_send_the_same_number_of_queries_at_two_sizes(client_as, api_as, jan):
    web, api = client_as("finance"), api_as("finance")
    counts = []
    for n in (2, 12):
        with transaction.atomic():
            _work(n)
            for _ in range(n):
                run = cost_posting_run(period_id=jan.pk)
            api.get("/api/v1/ledger/cost-runs/")  # the first request of a client loads its roles once
            counts.append(
                (
                    count_queries(lambda: web.get("/ledger/labour-cost/"), status=200)[0],
                    count_queries(lambda: api.get("/api/v1/ledger/cost-runs/"), status=200)[0],
                    count_queries(lambda r=run: web.get(f"/ledger/labour-cost/runs/{r.pk}/"), status=200)[0],
                )
            )
            transaction.set_rollback(True)
    assert counts[0] == counts[1]


def test_the_runs_queries_do_not_grow_with_the_entries(jan):
    """Set-based: a project with 1 or 20 approved entries costs the same statements."""
    counts = []
    for each in (1, 20):
        with transaction.atomic():
            _work(3, entries_each=each)
            queries, run = count_queries(lambda: cost_posting_run(period_id=jan.pk))
            assert run.status == CostRunStatus.DONE and run.entries == 3
            counts.append(queries)
            transaction.set_rollback(True)
    assert counts[0] == counts[1]
