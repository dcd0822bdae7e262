"""A consultant records and removes their own time off (and not someone else's) and deletes draft expenses
(all or nothing: a submitted one refuses the selection), through the pages and the services."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from projects.choices import EntryStatus
from projects.models import Expense, TimeOff
from projects.selectors import missing_time
from projects.services import expenses as ex
from projects.services import staffing
from psa.core.exceptions import ConflictError, NotFoundError, PermissionDeniedError
from tests.projects.time_factories import MONDAY, consultant_on

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n%receipt\n"


def expense(carl, setup, amount="80.00"):
    return ex.expense_create(
        by=carl.user, consultant_id=carl.pk, project_id=setup.project.pk, day=MONDAY, category="travel",
        amount=amount, currency="EUR", receipt=SimpleUploadedFile("r.pdf", PDF, "application/pdf"),
    )  # fmt: skip


def test_a_consultant_records_time_off_on_the_page_and_expected_hours_drop(client, setup, carl):
    client.force_login(carl.user)
    assert client.get("/time/off/").status_code == 200
    response = client.post(
        "/time/off/",
        {"kind": "leave", "start_date": MONDAY, "end_date": MONDAY + dt.timedelta(days=1), "hours_per_day": "8",
         "note": "Family"},
    )  # fmt: skip
    assert response.status_code == 302
    off = TimeOff.objects.get()
    assert (off.consultant_id, off.hours_per_day, off.note) == (carl.pk, Decimal("8.00"), "Family")
    (row,) = missing_time(week=MONDAY)
    assert row.expected == Decimal("24.00")  # 40 h capacity less two days of 8 h


def test_bad_time_off_is_shown_inline_and_nothing_is_saved(client, setup, carl):
    client.force_login(carl.user)
    response = client.post(
        "/time/off/", {"kind": "leave", "start_date": MONDAY, "end_date": MONDAY - dt.timedelta(days=1),
                       "hours_per_day": "8"},
    )  # fmt: skip
    assert response.status_code == 400 and "The end is before the start." in response.content.decode()
    response = client.post(
        "/time/off/", {"kind": "leave", "start_date": MONDAY, "end_date": MONDAY, "hours_per_day": "30"}
    )
    assert response.status_code == 400
    assert not TimeOff.objects.exists()


def test_time_off_is_removed_by_its_owner_or_a_pm_but_not_by_another_consultant(client, setup, carl):
    other = consultant_on(setup)
    mine = staffing.time_off_add(by=carl.user, consultant_id=carl.pk, start_date=MONDAY, end_date=MONDAY)
    with pytest.raises(PermissionDeniedError):
        staffing.time_off_remove(by=other.user, time_off_id=mine.pk)
    with pytest.raises(PermissionDeniedError):
        staffing.time_off_add(by=other.user, consultant_id=carl.pk, start_date=MONDAY, end_date=MONDAY)
    client.force_login(other.user)
    client.post("/time/off/", {"remove": mine.pk})
    assert TimeOff.objects.filter(pk=mine.pk).exists()
    client.force_login(carl.user)
    assert client.post("/time/off/", {"remove": mine.pk}).status_code == 302
    assert not TimeOff.objects.exists()
    again = staffing.time_off_add(by=carl.user, consultant_id=carl.pk, start_date=MONDAY, end_date=MONDAY)
    staffing.time_off_remove(by=setup.pm, time_off_id=again.pk)
    with pytest.raises(NotFoundError):
        staffing.time_off_remove(by=setup.pm, time_off_id=again.pk)


def test_draft_expenses_are_deleted_with_their_receipts_and_a_submitted_one_refuses_the_selection(
    client, setup, carl, django_capture_on_commit_callbacks
):
    a, b, c = expense(carl, setup), expense(carl, setup, "20.00"), expense(carl, setup, "30.00")
    ex.expenses_submit(by=carl.user, consultant_id=carl.pk, expense_ids=[c.pk])
    with pytest.raises(ConflictError, match="locked_after_submit"):
        ex.expenses_delete(by=carl.user, consultant_id=carl.pk, expense_ids=[a.pk, c.pk])
    assert Expense.objects.count() == 3
    storage, name = a.receipt.storage, a.receipt.name
    assert storage.exists(name)
    client.force_login(carl.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/expenses/", {"action": "delete", "ids": [a.pk, b.pk]}, follow=True)
    assert "Deleted 2 draft expenses" in response.content.decode()
    assert list(Expense.objects.values_list("pk", "status")) == [(c.pk, EntryStatus.SUBMITTED)]
    assert not storage.exists(name)


def test_another_consultants_expense_cannot_be_deleted(setup, carl):
    other = consultant_on(setup)
    mine = expense(carl, setup)
    with pytest.raises(NotFoundError):
        ex.expenses_delete(by=other.user, consultant_id=other.pk, expense_ids=[mine.pk])
    with pytest.raises(NotFoundError):
        ex.expenses_delete(by=other.user, consultant_id=carl.pk, expense_ids=[mine.pk])
    assert Expense.objects.filter(pk=mine.pk).exists()


def test_the_time_off_page_is_for_consultants(client_as):
    assert client_as("finance").get("/time/off/").status_code == 403
