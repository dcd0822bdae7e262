"""CSV exports: streamed, documented columns, date-range filter, role scoping."""

import csv
import io
from datetime import date

import pytest
from django.db import transaction
from django.http import StreamingHttpResponse

from billing.services import invoice_draft_for_contract, invoice_issue
from projects.models import Project
from psa.web.exports import INVOICE_COLUMNS, TIME_COLUMNS
from tests.billing.factories import approved_entry, make_consultant, make_periods, milestone_contract, tm_contract

pytestmark = pytest.mark.django_db


def _rows(response):
    assert isinstance(response, StreamingHttpResponse)
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_invoices_csv_lists_issued_invoices_in_the_range_with_the_documented_columns(client_as, make_user):
    make_periods(start=date(2026, 1, 1), through=date(2026, 12, 31))
    finance = make_user("finance")
    contract, _line, _ms = milestone_contract("1000.00", on=date(2026, 2, 10))
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 2, 28))
    invoice = invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 3, 5))
    client = client_as("finance")
    rows = _rows(client.get("/exports/invoices.csv?start=2026-03-01&end=2026-03-31"))
    assert rows[0] == INVOICE_COLUMNS
    (row,) = rows[1:]
    record = dict(zip(INVOICE_COLUMNS, row, strict=True))
    assert record["number"] == invoice.number and record["issue_date"] == "2026-03-05"
    assert record["net_total"] == "1000.00" and record["gross_total"] == str(invoice.gross_total)
    assert record["open_balance"] == str(invoice.gross_total) and record["contract"] == contract.number
    assert _rows(client.get("/exports/invoices.csv?start=2026-04-01&end=2026-04-30"))[1:] == []


def test_time_csv_shows_rates_to_finance_and_hides_costs_from_pms_and_other_pms_projects(client_as, make_user):
    _c, line = tm_contract()
    ada = make_consultant()
    entry = approved_entry(line, ada, date(2026, 3, 3), "2.5", "100")
    other_c, other_line = tm_contract()
    approved_entry(other_line, ada, date(2026, 3, 4), "1", "100")

    rows = _rows(client_as("finance").get("/exports/time.csv?start=2026-03-01&end=2026-03-31"))
    assert rows[0] == [*TIME_COLUMNS, "bill_rate", "bill_amount", "cost_rate"]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["id"] == str(entry.pk) and first["hours"] == "2.50" and first["bill_amount"] == "250.00"
    assert first["cost_rate"] == "60.0000" and first["billable"] == "true" and first["consultant"] == "Ada Lovelace"
    assert len(rows) == 3

    pm_client = client_as("project_manager")
    Project.objects.filter(pk=line.contract.project_id).update(project_manager=pm_client.user)
    pm_rows = _rows(pm_client.get("/exports/time.csv?start=2026-03-01&end=2026-03-31"))
    assert pm_rows[0] == [*TIME_COLUMNS, "bill_rate", "bill_amount"]
    assert [r[0] for r in pm_rows[1:]] == [str(entry.pk)]  # not the other PM's project
    assert other_c.project_id != line.contract.project_id


def test_exports_refuse_bad_ranges_and_other_roles(client_as):
    client = client_as("finance")
    response = client.get("/exports/time.csv?start=2026-03-31&end=2026-03-01")
    assert response.status_code == 400 and "on or after the start" in response.content.decode()
    assert client.get("/exports/invoices.csv?start=nope").status_code == 400
    assert client_as("project_manager").get("/exports/invoices.csv").status_code == 403
    assert client_as("sales").get("/exports/time.csv").status_code == 403
    assert client_as("consultant").get("/exports/").status_code == 403


def test_the_export_page_links_the_ledgers_gl_csv(client_as):
    html = client_as("finance").get("/exports/?start=2026-01-01&end=2026-01-31").content.decode()
    assert "/ledger/export/?format=csv&amp;start=2026-01-01&amp;end=2026-01-31" in html
