"""The go-live workspace: pages, API and management command over the same service; role checks and refusals."""

from datetime import date
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from billing.choices import GoLiveStatus
from billing.models import GoLive, GoLiveBalance, GoLiveImport
from billing.services.golive import golive_create, golive_import
from ledger.models import JournalEntry
from psa.core.entities import entity_create, entity_default
from tests.billing.factories import make_periods
from tests.billing.golive_fixtures import CUTOVER, chart_file, csv, opening_file
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def upload(content: bytes, name: str = "file.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="text/csv")


# --- pages -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["consultant", "sales", "project_manager", "client"])
def test_the_workspace_is_refused_to_other_roles(golive, client_as, role):
    page = client_as(role)
    for url in (
        reverse("billing:golive-list"),
        reverse("billing:golive", args=[golive.pk]),
        reverse("billing:golive-import", args=[golive.pk, "chart"]),
        reverse("billing:golive-reconciliation", args=[golive.pk]),
    ):
        assert page.get(url).status_code == 403
    assert page.post(reverse("billing:golive-rollback", args=[golive.pk])).status_code == 403
    golive.refresh_from_db()
    assert golive.status == GoLiveStatus.DRAFT


def test_anonymous_users_are_sent_to_sign_in(golive, client):
    response = client.get(reverse("billing:golive", args=[golive.pk]))
    assert response.status_code == 302 and "login" in response["Location"]


def test_finance_starts_a_golive_and_a_bad_date_is_shown_on_the_form(db, client_as):
    make_periods(start=date(2026, 1, 1))
    page = client_as("finance")
    entity = entity_default()
    bad = page.post(reverse("billing:golive-list"), {"entity": entity.pk, "cutover_date": "2026-04-15"})
    assert bad.status_code == 400 and "first of a month" in bad.content.decode()
    good = page.post(reverse("billing:golive-list"), {"entity": entity.pk, "cutover_date": "2026-04-01"})
    golive = GoLive.objects.get()
    assert good.status_code == 302 and good["Location"] == reverse("billing:golive", args=[golive.pk])


def test_upload_dry_run_then_apply_the_same_file(golive, client_as):
    page = client_as("finance")
    url = reverse("billing:golive-import", args=[golive.pk, "chart"])
    checked = page.post(url, {"file": upload(chart_file(), "chart.csv")})
    assert checked.status_code == 200
    body = checked.content.decode()
    assert "Apply the whole file" in body and not golive.account_maps.exists()
    payload = checked.context["payload"]
    applied = page.post(url, {"payload": payload, "confirm": "1", "file_name": "chart.csv"})
    assert applied.status_code == 302
    record = GoLiveImport.objects.get(golive=golive, kind="chart")
    assert record.file_name == "chart.csv" and record.row_count == 5


def test_a_bad_file_shows_each_row_and_rule_and_offers_no_apply(golive, client_as):
    page = client_as("finance")
    golive_import(golive=golive, kind="chart", file=chart_file(), user=golive.created_by, dry_run=False)
    url = reverse("billing:golive-import", args=[golive.pk, "opening_balances"])
    response = page.post(url, {"file": upload(csv("Account,Debit,Credit", "10000,100.00,", "55555,,90.00"))})
    body = response.content.decode()
    assert "unknown_account" in body and "unbalanced" in body
    assert "Apply the whole file" not in body
    assert not GoLiveBalance.objects.exists()


def test_the_workspace_and_the_reconciliation_render(golive, client_as):
    admin = golive.created_by
    golive_import(golive=golive, kind="chart", file=chart_file(), user=admin, dry_run=False)
    golive_import(golive=golive, kind="opening_balances", file=opening_file(), user=admin, dry_run=False)
    page = client_as("finance")
    detail = page.get(reverse("billing:golive", args=[golive.pk])).content.decode()
    assert "01 Apr 2026" in detail and "Opening trial balance" in detail  # the firm's date format (medium)
    report = page.get(reverse("billing:golive-reconciliation", args=[golive.pk])).content.decode()
    assert "The source trial balance balances" in report


def test_the_list_costs_the_same_queries_at_two_sizes(db, client_as):
    make_periods(start=date(2026, 1, 1))
    page = client_as("finance")
    golive_create(entity=entity_default(), cutover_date=CUTOVER, user=page.user)

    def count():
        return count_queries(lambda: page.get(reverse("billing:golive-list")), status=200)[0]

    count()
    small = count()
    for n in range(3):
        entity = entity_create(
            by=page.user,
            values={"code": f"E{n}", "series_prefix": f"E{n}", "name": f"Entity {n}", "legal_name": f"Entity {n} Ltd",
                    "country": "GB", "functional_currency": entity_default().functional_currency},
        )  # fmt: skip
        golive_create(entity=entity, cutover_date=CUTOVER, user=page.user)
    assert count() == small


# --- API -------------------------------------------------------------------------------------------------
def test_the_api_dry_runs_applies_and_reconciles(golive, api_as):
    api = api_as("finance")
    base = f"/api/v1/golive/{golive.pk}"
    dry = api.post(f"{base}/import/", {"kind": "chart", "file": upload(chart_file())}, format="multipart")
    assert dry.status_code == 200 and dry.json()["dry_run"] and not golive.account_maps.exists()
    done = api.post(
        f"{base}/import/", {"kind": "chart", "file": upload(chart_file()), "dry_run": "false"}, format="multipart"
    )
    assert done.status_code == 200 and golive.account_maps.count() == 5
    bad = api.post(
        f"{base}/import/",
        {"kind": "opening_balances", "file": upload(csv("Account,Debit", "10000,5.00")), "dry_run": "false"},
        format="multipart",
    )
    assert bad.status_code == 200 and [r["rule"] for r in bad.json()["rows"] if r["action"] == "error"] == [
        "unbalanced"
    ]
    assert not JournalEntry.objects.exists()
    api.post(
        f"{base}/import/",
        {"kind": "opening_balances", "file": upload(opening_file(ar="0.00")), "dry_run": "false"},
        format="multipart",
    )
    recon = api.get(f"{base}/reconciliation/").json()
    assert recon["green"] is True and recon["checks"]
    refused = api.post(f"{base}/complete/")
    assert refused.status_code == 409 and "open for" in refused.json()["message"]  # months before are still open


def test_the_api_refuses_other_roles_and_bad_kinds(golive, api_as):
    assert api_as("consultant").get("/api/v1/golive/").status_code == 403
    api = api_as("finance")
    response = api.post(f"/api/v1/golive/{golive.pk}/import/", {"kind": "nope", "file": upload(b"a\n")})
    assert response.status_code == 400 and "kind" in response.json()["fields"]
    assert api.get("/api/v1/golive/999999/").status_code == 404


def test_the_api_list_costs_the_same_queries_at_two_sizes(golive, api_as):
    api = api_as("finance")
    admin = golive.created_by
    golive_import(golive=golive, kind="chart", file=chart_file(), user=admin, dry_run=False)

    def count():
        return count_queries(lambda: api.get("/api/v1/golive/"), status=200)[0]

    count()
    small = count()
    golive_import(golive=golive, kind="opening_balances", file=opening_file(), user=admin, dry_run=False)
    assert count() == small


# --- management command ----------------------------------------------------------------------------------
def test_the_command_dry_runs_by_default_and_applies_with_apply(golive, tmp_path):
    path = tmp_path / "chart.csv"
    path.write_bytes(chart_file())
    out = StringIO()
    call_command("golive_import", golive=golive.pk, kind="chart", file=str(path), stdout=out)
    assert "0 refused" in out.getvalue() and not golive.account_maps.exists()
    call_command("golive_import", golive=golive.pk, kind="chart", file=str(path), apply=True, stdout=StringIO())
    assert golive.account_maps.count() == 5


def test_the_command_names_refused_rows_and_fails(golive, tmp_path):
    path = tmp_path / "tb.csv"
    path.write_bytes(csv("Account,Debit,Credit", "99999,1.00,"))
    out = StringIO()
    with pytest.raises(CommandError, match="refused"):
        call_command("golive_import", golive=golive.pk, kind="opening_balances", file=str(path), apply=True, stdout=out)
    assert "[unknown_account]" in out.getvalue()
    assert not GoLiveBalance.objects.exists()
