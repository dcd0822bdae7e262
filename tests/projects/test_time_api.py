"""Time API: drafts, bulk create with Idempotency-Key, submit/approve/reject, expenses, allocations,
utilization; a consultant sees and changes only their own."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from projects.choices import EntryStatus
from projects.models import Expense, TimeEntry
from tests.projects.time_factories import MONDAY, consultant_on

pytestmark = pytest.mark.django_db
URL = "/api/v1/time-entries/"


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def entry(setup, day=MONDAY, hours="8.00", **kw):
    return {"project": setup.project.pk, "date": day.isoformat(), "hours": hours, **kw}


def test_a_consultant_creates_updates_and_deletes_a_draft(setup, carl):
    client = api(carl.user)
    created = client.post(URL, entry(setup), format="json")
    assert created.status_code == 201, created.json()
    pk = created.json()["id"]
    assert "cost_rate" not in created.json() and "bill_rate" not in created.json()
    assert client.patch(f"{URL}{pk}/", {"hours": "6.5"}, format="json").json()["hours"] == "6.50"
    assert client.delete(f"{URL}{pk}/").status_code == 204
    assert not TimeEntry.objects.exists()


def test_a_refused_entry_names_the_rule(setup, carl):
    response = api(carl.user).post(URL, entry(setup, hours="25"), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "hours_max_per_entry" and "rule" in response.json()["message"]


def test_bulk_create_is_all_or_nothing_and_replays_with_the_same_key(setup, carl):
    client = api(carl.user)
    good = {"entries": [entry(setup, MONDAY + dt.timedelta(days=i)) for i in range(5)]}
    bad = {"entries": [*good["entries"], entry(setup, MONDAY + dt.timedelta(days=5), hours="0")]}
    refused = client.post(f"{URL}bulk/", bad, format="json", HTTP_IDEMPOTENCY_KEY="k0")
    assert refused.status_code == 400 and "entries[5].hours" in refused.json()["fields"]
    assert not TimeEntry.objects.exists()
    first = client.post(f"{URL}bulk/", good, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = client.post(f"{URL}bulk/", good, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert TimeEntry.objects.count() == 5
    other = client.post(f"{URL}bulk/", {"entries": good["entries"][:1]}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert other.status_code == 409


def test_submit_approve_and_the_lock(setup, carl):
    client = api(carl.user)
    client.post(f"{URL}bulk/", {"entries": [entry(setup, MONDAY + dt.timedelta(days=i)) for i in range(2)]},
                format="json")  # fmt: skip
    assert client.post(f"{URL}submit/", {"week": MONDAY.isoformat()}, format="json").json() == {
        "count": 2,
        "warnings": [],
    }
    ids = list(TimeEntry.objects.values_list("pk", flat=True))
    assert client.post(f"{URL}approve/", {"ids": ids}, format="json").status_code == 403
    assert api(setup.pm).post(f"{URL}approve/", {"ids": ids}, format="json").json() == {"count": 2}
    locked = client.patch(f"{URL}{ids[0]}/", {"hours": "1"}, format="json")
    assert locked.status_code == 409 and locked.json()["code"] == "locked_after_submit"
    shown = api(setup.pm).get(f"{URL}{ids[0]}/").json()
    assert shown["status"] == EntryStatus.APPROVED and shown["bill_rate"] == "160.0000"


def test_reject_needs_a_reason(setup, carl):
    client = api(carl.user)
    pk = client.post(URL, entry(setup), format="json").json()["id"]
    client.post(f"{URL}submit/", {"week": MONDAY.isoformat()}, format="json")
    response = api(setup.pm).post(f"{URL}reject/", {"ids": [pk]}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "reason_required"
    assert api(setup.pm).post(f"{URL}reject/", {"ids": [pk], "reason": "Wrong task"}, format="json").status_code == 200
    assert client.get(f"{URL}{pk}/").json()["rejection_reason"] == "Wrong task"


def test_consultant_b_cannot_read_or_change_as_entries_or_expenses(setup, carl):
    pk = api(carl.user).post(URL, entry(setup), format="json").json()["id"]
    receipt = SimpleUploadedFile("r.pdf", b"%PDF-1.4 x")
    made = api(carl.user).post(
        "/api/v1/expenses/",
        {"project": setup.project.pk, "date": MONDAY.isoformat(), "category": "travel", "amount": "80.00",
         "currency": "EUR", "receipt": receipt},
        format="multipart",
    )  # fmt: skip
    assert made.status_code == 201, made.json()
    bob = api(consultant_on(setup).user)
    assert bob.get(URL).json()["results"] == []
    assert bob.get(f"{URL}{pk}/").status_code == 404
    assert bob.patch(f"{URL}{pk}/", {"hours": "1"}, format="json").status_code == 404
    assert bob.delete(f"{URL}{pk}/").status_code == 404
    assert bob.post(URL, {**entry(setup, hours="1"), "consultant": carl.pk}, format="json").status_code == 403
    expense_id = made.json()["id"]
    assert bob.get("/api/v1/expenses/").json()["results"] == []
    assert bob.get(f"/api/v1/expenses/{expense_id}/").status_code == 404
    assert bob.delete(f"/api/v1/expenses/{expense_id}/").status_code == 404
    assert bob.post("/api/v1/expenses/submit/", {"ids": [expense_id]}, format="json").status_code == 409
    assert TimeEntry.objects.get(pk=pk).hours == Decimal("8.00")
    assert Expense.objects.get(pk=expense_id).status == EntryStatus.DRAFT


def test_an_expense_in_the_wrong_currency_is_refused(setup, carl):
    response = api(carl.user).post(
        "/api/v1/expenses/",
        {"project": setup.project.pk, "date": MONDAY.isoformat(), "category": "meals", "amount": "10.00",
         "currency": "USD"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400 and response.json()["code"] == "currency_matches_project"


def test_allocations_by_pms_and_utilization(setup, carl):
    pm = api(setup.pm)
    made = pm.post(
        "/api/v1/allocations/",
        {"project": setup.project.pk, "consultant": carl.pk, "kind": "soft", "hours_per_week": "8",
         "start_date": MONDAY.isoformat(), "end_date": (MONDAY + dt.timedelta(days=13)).isoformat(),
         "confirm_overbooking": True},  # carl is fully booked already
        format="json",
    )  # fmt: skip
    assert made.status_code == 201, made.json()
    assert api(carl.user).post("/api/v1/allocations/", {}, format="json").status_code == 403
    api(carl.user).post(f"{URL}bulk/", {"entries": [entry(setup, MONDAY + dt.timedelta(days=i)) for i in range(5)]},
                        format="json")  # fmt: skip
    api(carl.user).post(f"{URL}submit/", {"week": MONDAY.isoformat()}, format="json")
    pm.post(f"{URL}approve/", {"ids": list(TimeEntry.objects.values_list("pk", flat=True))}, format="json")
    week = {"start": MONDAY.isoformat(), "end": (MONDAY + dt.timedelta(days=6)).isoformat()}
    rows = api(carl.user).get("/api/v1/utilization/", week).json()["rows"]
    assert len(rows) == 1 and rows[0]["billable"] == "40.00" and rows[0]["utilization"] == "100.0"
    by_role = pm.get("/api/v1/utilization/", {**week, "by": "role"}).json()["rows"]
    assert by_role[0]["label"] == "Senior consultant"
