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
from ledger.selectors.exports import beancount_export, csv_export
from ledger.services import EntrySpec, LineSpec
from ledger.services.posting import fx_difference_line, fx_line
from projects.models import Project
from psa.core.fx import Rate
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


# --- currencies -------------------------------------------------------------------------------------------
USD_MAR = Rate("USD", "EUR", Decimal("0.9"), date(2026, 3, 10))
JPY_MAR = Rate("JPY", "EUR", Decimal("0.0061234"), date(2026, 3, 10))
USD_APR = Rate("USD", "EUR", Decimal("0.95"), date(2026, 4, 5))


@pytest.fixture
def fx_books(periods):
    """Mar: 1,000.00 USD at 0.9 (900.00) and 150,000 JPY at 0.0061234 (918.51) received as revenue; a
    revaluation of the cash (+25.00 EUR, no USD); Apr: 400.00 USD paid out at 0.95 (380.00) for a prepayment."""
    entries = [
        EntrySpec(
            date=date(2026, 3, 10),
            memo="Foreign receipts",
            lines=(
                fx_line("1000", rate=USD_MAR, debit=Decimal("1000.00")),
                fx_line("1000", rate=JPY_MAR, debit=Decimal("150000.00")),
                LineSpec("4000", credit=Decimal("1818.51")),
            ),
        ),
        EntrySpec(
            date=date(2026, 3, 31),
            memo="Revaluation",
            lines=(
                fx_difference_line("1000", currency="USD", debit=Decimal("25.00")),
                LineSpec("7150", credit=Decimal("25.00")),
            ),
        ),
        EntrySpec(
            date=date(2026, 4, 5),
            memo="Paid in USD",
            lines=(
                LineSpec("1200", debit=Decimal("380.00")),
                fx_line("1000", rate=USD_APR, credit=Decimal("400.00")),
            ),
        ),
    ]
    return [post(e) for e in entries]


def test_a_multi_currency_ledger_exports_units_at_their_total_price_and_passes_bean_check(fx_books, tmp_path):
    text = "".join(beancount_export(start=date(2026, 3, 1), end=date(2026, 4, 30)))
    assert "open Assets:1000-Cash EUR,JPY,USD" in text
    assert "Assets:1000-Cash  1000.00 USD @@ 900.00 EUR" in text
    assert "Assets:1000-Cash  150000.00 JPY @@ 918.51 EUR" in text
    assert "Income:4000-ServicesRevenue  -1818.51 EUR" in text
    assert "Assets:1000-Cash  25.00 EUR" in text  # the exchange difference moves only the functional amount
    assert "Assets:1000-Cash  -400.00 USD @@ 380.00 EUR" in text
    assert "2026-05-01 balance Assets:1000-Cash  600.00 USD" in text
    assert "2026-05-01 balance Assets:1000-Cash  150000.00 JPY" in text
    assert "2026-05-01 balance Assets:1000-Cash  25.00 EUR" in text
    out = tmp_path / "fx.beancount"
    out.write_text(text)
    result = bean_check(out)
    assert result.returncode == 0, result.stdout + result.stderr + text
    out.write_text(text.replace("balance Assets:1000-Cash  600.00 USD", "balance Assets:1000-Cash  601.00 USD"))
    assert bean_check(out).returncode != 0


def test_a_range_after_foreign_postings_opens_with_the_units_at_their_functional_value(fx_books, tmp_path):
    text = "".join(beancount_export(start=date(2026, 4, 1), end=date(2026, 4, 30)))
    opening = text.split('"Opening balances"')[1].split("\n\n")[0]
    assert "Assets:1000-Cash  1000.00 USD @@ 900.00 EUR" in opening
    assert "Assets:1000-Cash  150000.00 JPY @@ 918.51 EUR" in opening
    assert "Assets:1000-Cash  25.00 EUR" in opening
    out = tmp_path / "april.beancount"
    out.write_text(text)
    result = bean_check(out)
    assert result.returncode == 0, result.stdout + result.stderr + text


def test_the_csv_export_carries_the_transaction_currency_amount_rate_and_functional_amount(fx_books):
    rows = list(csv.DictReader(io.StringIO("".join(csv_export(start=date(2026, 3, 1), end=date(2026, 4, 30))))))
    usd, jpy, revenue = rows[0], rows[1], rows[2]
    assert (usd["currency"], usd["amount_currency"], usd["rate"], usd["debit"]) == ("USD", "1000.00", "0.9", "900.00")
    assert (jpy["currency"], jpy["amount_currency"], jpy["rate"], jpy["debit"]) == (
        "JPY",
        "150000.00",
        "0.0061234",
        "918.51",
    )
    assert (revenue["currency"], revenue["amount_currency"], revenue["rate"]) == ("EUR", "1818.51", "1")
    assert {r["functional_currency"] for r in rows} == {"EUR"}
    difference = rows[3]
    assert (difference["currency"], difference["amount_currency"], difference["debit"]) == ("USD", "0.00", "25.00")
