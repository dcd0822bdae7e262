"""Ledger API: roles, posting with the one error format and status codes, idempotency, keyset general ledger."""

from datetime import date

import pytest

from ledger.models import JournalEntry
from ledger.services.revenue import recognition_run
from tests.ledger.factories import balanced, close_month, post
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db
ENTRIES = "/api/v1/ledger/entries/"


def entry_body(amount="100.00", on="2026-03-10", debit="6100", credit="1000", **extra):
    return {
        "date": on,
        "memo": "API entry",
        "lines": [{"account": debit, "debit": amount}, {"account": credit, "credit": amount}],
        **extra,
    }


@pytest.mark.parametrize("role", ["sales", "project_manager", "consultant", "client"])
def test_other_roles_are_refused_with_403(api_as, periods, role):
    client = api_as(role)
    for url in (ENTRIES, "/api/v1/ledger/accounts/", "/api/v1/ledger/reports/trial-balance/", "/api/v1/ledger/lines/"):
        response = client.get(url)
        assert response.status_code == 403 and response.json()["code"] == "permission_denied", url
    assert client.post(ENTRIES, entry_body(), format="json").status_code == 403
    assert not JournalEntry.objects.exists()


def test_finance_posts_an_entry(api_as, periods):
    response = api_as("finance").post(ENTRIES, entry_body(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["number"] == "JE-2026-000001" and body["total"] == "100.00"
    assert [ln["account"] for ln in body["lines"]] == ["6100", "1000"]


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        (entry_body(lines=[{"account": "6100", "debit": "5.00"}, {"account": "1000", "credit": "4.00"}]), 400,
         "validation_failed", "lines"),
        (entry_body(lines=[{"account": "6100", "debit": "5.00"}]), 400, "validation_failed", "lines"),
        (entry_body(lines=[{"account": "6100", "debit": "-5.00"}, {"account": "1000", "credit": "-5.00"}]), 400,
         "validation_failed", "lines[0].debit"),
        (entry_body(debit="9999"), 400, "validation_failed", "lines[0].account"),
        (entry_body(debit="1100", credit="4000"), 400, "validation_failed", "lines[0].account"),
        (entry_body(on="2031-01-01"), 409, "period_undefined", "date"),
    ],
    ids=["unbalanced", "one-line", "negative", "unknown-account", "control-account", "no-period"],
)  # fmt: skip
def test_bad_entries_get_the_right_status_and_name_the_field(api_as, periods, body, status, code, field):
    response = api_as("finance").post(ENTRIES, body, format="json")
    assert response.status_code == status
    assert response.json()["code"] == code and field in response.json()["fields"]
    assert not JournalEntry.objects.exists()


def test_an_inactive_account_is_a_400(api_as, periods):
    client = api_as("finance")
    accounts = client.get("/api/v1/ledger/accounts/?type=expense").json()["results"]
    account = next(a for a in accounts if a["code"] == "6200")
    patched = client.patch(f"/api/v1/ledger/accounts/{account['id']}/", {"is_active": False}, format="json")
    assert patched.status_code == 200 and patched.json()["is_active"] is False
    write_offs = next(a for a in accounts if a["system_role"] == "write_offs")
    refused = client.patch(f"/api/v1/ledger/accounts/{write_offs['id']}/", {"is_active": False}, format="json")
    assert refused.status_code == 400 and "is_active" in refused.json()["fields"]
    response = client.post(ENTRIES, entry_body(debit=account["code"]), format="json")
    assert response.status_code == 400 and "inactive" in response.json()["message"]


def test_a_closed_period_is_a_409_with_a_clear_message(api_as, periods, finance):
    close_month(period_id=periods[2].pk - 2, by=finance, reason="x")
    close_month(period_id=periods[1].pk, by=finance, reason="x")
    close_month(period_id=periods[2].pk, by=finance, reason="x")
    response = api_as("finance").post(ENTRIES, entry_body(on="2026-03-10"), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "period_closed"
    assert "2026-03 is closed" in response.json()["message"]


def test_a_key_reused_with_another_payload_is_a_409_and_the_same_payload_replays(api_as, periods):
    client = api_as("finance")
    first = client.post(ENTRIES, entry_body(key="k1"), format="json")
    again = client.post(ENTRIES, entry_body(key="k1"), format="json")
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    other = client.post(ENTRIES, entry_body("1.00", key="k1"), format="json")
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    assert JournalEntry.objects.count() == 1


def test_the_idempotency_key_header_replays_the_first_response(api_as, periods):
    client = api_as("finance")
    first = client.post(ENTRIES, entry_body(), format="json", HTTP_IDEMPOTENCY_KEY="h-1")
    second = client.post(ENTRIES, entry_body(), format="json", HTTP_IDEMPOTENCY_KEY="h-1")
    assert first.json() == second.json() and second["Idempotent-Replayed"] == "true"
    assert client.post(ENTRIES, entry_body("2.00"), format="json", HTTP_IDEMPOTENCY_KEY="h-1").status_code == 409
    assert JournalEntry.objects.count() == 1


def test_reversing_twice_is_a_409(api_as, periods):
    client = api_as("finance")
    entry = client.post(ENTRIES, entry_body(), format="json").json()
    first = client.post(f"{ENTRIES}{entry['id']}/reverse/", {"date": "2026-03-20"}, format="json")
    assert first.status_code == 201 and first.json()["reverses"] == entry["number"]
    second = client.post(f"{ENTRIES}{entry['id']}/reverse/", {"date": "2026-03-20"}, format="json")
    assert second.status_code == 409 and second.json()["code"] == "already_reversed"


def test_periods_close_and_reopen_through_the_api(api_as, periods):
    client = api_as("finance")
    recognition_run(period_id=periods[0].pk, by=client.user)  # the checklist's blocking item is done
    url = f"/api/v1/ledger/periods/{periods[0].pk}/"
    assert client.post(url + "close/", {}, format="json").status_code == 400
    assert client.post(url + "close/", {"reason": "done"}, format="json").json()["status"] == "closed"
    assert client.post(url + "close/", {"reason": "again"}, format="json").status_code == 409
    assert client.post(url + "reopen/", {"reason": "late bill"}, format="json").json()["status"] == "open"


def test_reports_agree_through_the_api(api_as, periods):
    post(balanced("300.00", debit="1000", credit="4000", on=date(2026, 3, 3)))
    post(balanced("120.00", debit="6000", credit="1000", on=date(2026, 3, 4)))
    client = api_as("finance")
    tb = client.get("/api/v1/ledger/reports/trial-balance/?at=2026-03-31").json()
    assert tb["balanced"] and tb["totals"]["closing_debit"] == tb["totals"]["closing_credit"] == "300.00"
    pnl = client.get("/api/v1/ledger/reports/pnl/?start=2026-01-01&end=2026-03-31&by=period").json()
    assert pnl["net_total"] == "180.00" and pnl["columns"] == ["2026-03"]
    bs = client.get("/api/v1/ledger/reports/balance-sheet/?at=2026-03-31").json()
    assert bs["balanced"] and bs["total_assets"] == "180.00"
    assert client.get("/api/v1/ledger/reports/pnl/").status_code == 400


def test_the_general_ledger_pages_by_keyset_with_running_balances(api_as, periods):
    for i in range(7):
        post(balanced("10.00", on=date(2026, 3, 1 + i)))
    client = api_as("finance")
    first = client.get("/api/v1/ledger/lines/?account=1000&page_size=3").json()
    assert [r["balance"] for r in first["results"]] == ["10.00", "20.00", "30.00"]
    assert "count" not in first
    second = client.get(first["next"]).json()
    assert [r["balance"] for r in second["results"]] == ["40.00", "50.00", "60.00"]


def test_the_lines_endpoint_keeps_its_query_count(api_as, periods):
    client = api_as("finance")
    post(balanced("1.00"))
    client.get(ENTRIES)  # the user's roles are read once, then cached on the forced user
    small, _ = count_queries(lambda: client.get("/api/v1/ledger/lines/?account=1000"))
    for i in range(20):
        post(balanced("1.00", on=date(2026, 3, 1 + i)))
    large, _ = count_queries(lambda: client.get("/api/v1/ledger/lines/?account=1000"))
    assert large == small
    small, _ = count_queries(lambda: client.get(ENTRIES))
    for i in range(5):
        post(balanced("1.00", on=date(2026, 4, 1 + i)))
    large, _ = count_queries(lambda: client.get(ENTRIES))
    assert large == small
