"""Exports: the seeded demo ledger exports to a beancount file that bean-check accepts, and to CSV."""

import csv
import io
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from crm.models import Account as Client
from ledger import demo
from ledger.models import JournalEntry, JournalLine
from ledger.selectors import trial_balance
from ledger.selectors.exports import beancount_export
from projects.models import Project
from psa.web.demo import seed_users
from tests.ledger.factories import balanced, post

pytestmark = pytest.mark.django_db
BEAN_CHECK = Path(sys.executable).with_name("bean-check")


def bean_check(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(BEAN_CHECK), str(path)], capture_output=True, text=True, timeout=120)


@pytest.fixture
def demo_books(db):
    seed_users()
    acme = Client.objects.create(name='Acme "Quoted" Ltd')
    Project.objects.create(code="ACME-1", name="Roll-out", account=acme)
    Client.objects.create(name="Globex")
    report = demo.seed()
    assert "entries posted" in report[0]
    return report


def test_the_demo_seed_is_idempotent(demo_books):
    entries, lines = JournalEntry.objects.count(), JournalLine.objects.count()
    again = demo.seed()
    assert JournalEntry.objects.count() == entries and JournalLine.objects.count() == lines
    assert "0 entries posted" in again[0] and "0 skipped" in again[0]


def test_the_exported_demo_ledger_passes_bean_check(demo_books, tmp_path):
    out = tmp_path / "demo.beancount"
    call_command("ledger_export", "--format", "beancount", "--output", str(out))
    text = out.read_text()
    assert " balance " in text and " open " in text and 'client: "Acme \\"Quoted\\" Ltd"' in text
    result = bean_check(out)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_partial_range_export_opens_with_our_trial_balance_and_passes_bean_check(demo_books, tmp_path):
    first = JournalLine.objects.order_by("date").first().date
    start = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    out = tmp_path / "part.beancount"
    call_command("ledger_export", "--from", start.isoformat(), "--to", date.today().isoformat(), "-o", str(out))
    assert "Opening balances" in out.read_text()
    result = bean_check(out)
    assert result.returncode == 0, result.stdout + result.stderr


def test_bean_check_catches_a_wrong_balance_assertion(periods, tmp_path):
    post(balanced("100.00"))
    text = "".join(beancount_export(start=date(2026, 3, 1), end=date(2026, 3, 31)))
    assert "100.00 EUR" in text
    out = tmp_path / "bad.beancount"
    out.write_text(text.replace("balance Assets:1000-Cash  100.00", "balance Assets:1000-Cash  99.00"))
    assert bean_check(out).returncode != 0


def test_the_csv_export_has_one_row_per_line_with_two_decimals(demo_books, capsys):
    call_command("ledger_export", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == JournalLine.objects.count()
    assert all(r["debit"].count(".") == 1 and len(r["debit"].split(".")[1]) == 2 for r in rows)
    tb = trial_balance(at=date.today())
    assert sum(Decimal(r["debit"]) for r in rows) == tb.debit
