"""CSV import of time: every row checked like the timesheet, a dry run that writes nothing, good rows written as
drafts, re-import harmless, locked cells left alone, other people's time refused for consultants, and the page's
two steps with a fixed number of queries per file."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from projects.choices import EntryStatus
from projects.models import TimeEntry
from projects.services import time as ts
from projects.services.time_import import time_csv_import
from psa.core.exceptions import PermissionDeniedError, ValidationFailed
from tests.projects.time_factories import MONDAY, consultant_on
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def csv_for(carl, setup, rows: list[tuple]) -> str:
    head = "Consultant;Project;Task;Date;Hours;Note;External ID\n"
    return head + "".join(";".join(str(v) for v in r) + "\n" for r in rows)


def test_a_dry_run_reports_every_row_and_writes_nothing(setup, carl):
    user, code = carl.user.username, setup.project.code
    content = csv_for(
        carl,
        setup,
        [
            (user, code, "", MONDAY, "7.5", "Workshop", "X-1"),
            (user.upper(), code.lower(), "", MONDAY + dt.timedelta(days=1), "8", "", "X-2"),
            ("nobody", code, "", MONDAY, "1", "", "X-3"),
            (user, "P-NOPE", "", MONDAY, "1", "", "X-4"),
            (user, code, "No such task", MONDAY, "1", "", "X-5"),
            (user, code, "", "11/01/2027", "1", "", "X-6"),
            (user, code, "", MONDAY + dt.timedelta(days=2), "lots", "", "X-7"),
            (user, code, "", MONDAY + dt.timedelta(days=3), "1.234", "", "X-8"),
            (user, code, "", MONDAY, "17", "", "X-9"),  # same cell as row 2
            (user, code, "", dt.date(2030, 1, 1), "2", "", "X-10"),  # after the project
            (user, code, "", MONDAY + dt.timedelta(days=4), "", "", "X-11"),
        ],
    )
    report = time_csv_import(by=setup.pm, content=content, dry_run=True)
    by_id = {r.external_id: r for r in report.rows}
    assert [by_id[f"X-{i}"].action for i in (1, 2)] == ["create", "create"]
    assert "No active consultant" in by_id["X-3"].reason
    assert "No project with the code" in by_id["X-4"].reason
    assert "has no task" in by_id["X-5"].reason
    assert "is not a date" in by_id["X-6"].reason
    assert "not a number of hours" in by_id["X-7"].reason
    assert "rule: hours_precision" in by_id["X-8"].reason
    assert "rule: one_entry_per_cell" in by_id["X-9"].reason
    assert "rule: inside_project_dates" in by_id["X-10"].reason
    assert "Missing hours" in by_id["X-11"].reason
    assert (report.created, report.updated, report.errors) == (2, 0, 9)
    assert [r.row for r in report.rows] == list(range(2, 13))
    assert not TimeEntry.objects.exists()


def test_the_import_writes_the_good_rows_as_drafts_and_a_second_run_changes_nothing(setup, carl):
    user, code = carl.user.username, setup.project.code
    task = setup.project.tasks.order_by("pk").first()
    content = csv_for(
        carl,
        setup,
        [
            (user, code, task.name, MONDAY, "7.5", "Workshop", "X-1"),
            (carl.user.email, code, "", MONDAY, "0.5", "", "X-2"),
            (user, code, "", MONDAY + dt.timedelta(days=1), "30", "", "X-3"),
        ],
    )
    report = time_csv_import(by=setup.pm, content=content, dry_run=False)
    assert (report.created, report.errors) == (2, 1)
    entries = {e.source_key: e for e in TimeEntry.objects.all()}
    assert set(entries) == {"X-1", "X-2"}
    assert entries["X-1"].task_id == task.pk and entries["X-1"].hours == Decimal("7.50")
    assert entries["X-1"].note == "Workshop" and entries["X-1"].status == EntryStatus.DRAFT
    again = time_csv_import(by=setup.pm, content=content, dry_run=False)
    assert (again.created, again.updated, again.errors) == (0, 2, 1)
    assert TimeEntry.objects.count() == 2
    assert sum(e.hours for e in TimeEntry.objects.all()) == Decimal("8.00")


def test_a_draft_cell_is_rewritten_a_locked_one_is_left_alone_or_refused(setup, carl):
    user, code = carl.user.username, setup.project.code
    ts.time_entry_put(
        by=carl.user, consultant_id=carl.pk, project_id=setup.project.pk, task_id=None, day=MONDAY, hours="4"
    )
    ts.time_entry_put(
        by=carl.user, consultant_id=carl.pk, project_id=setup.project.pk, task_id=None,
        day=MONDAY + dt.timedelta(days=7), hours="6",
    )  # fmt: skip
    ts.timesheet_submit(by=carl.user, consultant_id=carl.pk, week=MONDAY + dt.timedelta(days=7))
    content = csv_for(
        carl,
        setup,
        [
            (user, code, "", MONDAY, "20", "longer", "A"),
            (user, code, "", MONDAY + dt.timedelta(days=7), "6", "", "B"),
            (user, code, "", MONDAY + dt.timedelta(days=7), "5", "", "C"),
        ],
    )
    report = time_csv_import(by=setup.pm, content=content, dry_run=False)
    assert [r.action for r in report.rows] == ["update", "unchanged", "error"]
    assert "rule: locked_after_submit" in report.rows[2].reason
    monday = TimeEntry.objects.get(date=MONDAY)
    assert (monday.hours, monday.note, monday.source_key) == (Decimal("20.00"), "longer", "A")
    assert TimeEntry.objects.get(date=MONDAY + dt.timedelta(days=7)).hours == Decimal("6.00")


def test_a_consultant_imports_only_their_own_time(setup, carl):
    other = consultant_on(setup)
    content = csv_for(
        carl,
        setup,
        [
            (carl.user.username, setup.project.code, "", MONDAY, "2", "", "mine"),
            (other.user.username, setup.project.code, "", MONDAY, "2", "", "theirs"),
        ],
    )
    report = time_csv_import(by=carl.user, content=content, dry_run=False)
    assert [r.action for r in report.rows] == ["create", "error"]
    assert "only your own time" in report.rows[1].reason
    assert list(TimeEntry.objects.values_list("consultant_id", flat=True)) == [carl.pk]


def test_finance_and_sales_may_not_import_time_and_a_file_without_hours_is_refused(setup, carl, make_user):
    with pytest.raises(PermissionDeniedError):
        time_csv_import(by=make_user("sales"), content="hours\n1\n", dry_run=True)
    with pytest.raises(ValidationFailed) as exc:
        time_csv_import(by=setup.pm, content="consultant,project\nx,y\n", dry_run=True)
    assert "'hours' column" in exc.value.message


def test_the_page_checks_then_imports_with_a_fixed_number_of_queries(client, setup, carl):
    client.force_login(setup.pm)
    page = client.get("/time/import/")
    assert page.status_code == 200

    def upload(n_days: int):
        rows = [(carl.user.username, setup.project.code, "", MONDAY + dt.timedelta(days=i), "1", "", f"R{i}")
                for i in range(n_days)]  # fmt: skip
        body = csv_for(carl, setup, rows).encode()
        return count_queries(
            lambda: client.post("/time/import/", {"file": SimpleUploadedFile("t.csv", body, "text/csv")}), status=200
        )

    q_small, _small = upload(3)
    q_large, large = upload(30)
    assert q_small == q_large, (q_small, q_large)
    assert b"Dry run: 30 to create" in large.content and not TimeEntry.objects.exists()
    confirmed = client.post("/time/import/", {"payload": large.context["payload"], "confirm": "1"}, follow=True)
    assert confirmed.status_code == 200 and b"Imported time: 30 created" in confirmed.content
    assert TimeEntry.objects.count() == 30


def test_the_page_refuses_other_roles_and_names_a_bad_file(client_as, client, setup):
    assert client_as("finance").get("/time/import/").status_code == 403
    client.logout()
    client.force_login(setup.pm)
    bad = client.post("/time/import/", {"file": SimpleUploadedFile("t.csv", b"foo,bar\n1,2\n", "text/csv")})
    assert bad.status_code == 400 and "column is required" in bad.content.decode()
