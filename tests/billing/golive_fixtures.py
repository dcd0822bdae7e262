"""Go-live test data: files as the previous system would export them, and a go-live moved in through the
services (chart, historical periods, opening balances, three open invoices)."""

import io
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import Workbook

from billing.services.golive import golive_create, golive_import
from ledger.choices import SystemAccount
from ledger.services import account_code_for
from psa.core.entities import entity_default
from tests.billing.factories import make_account, make_periods

CUTOVER = date(2026, 4, 1)


def csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def xlsx(*rows: tuple) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def admin(make_user):
    return make_user("admin")


@pytest.fixture
def golive(db, admin):
    make_periods(start=date(2026, 1, 1))
    return golive_create(entity=entity_default(), cutover_date=CUTOVER, user=admin)


def run(golive, kind, content, user, *, apply=False):
    return golive_import(golive=golive, kind=kind, file=content, user=user, dry_run=not apply)


def errors(report) -> list[tuple[int, str]]:
    return [(r.row, r.rule) for r in report.rows if r.action == "error"]


def ar_code() -> str:
    return account_code_for(SystemAccount.RECEIVABLE)


def chart_file() -> bytes:
    return csv(
        "Their code,Their name,Our code,Create,Name,Type",
        f"10000,Debitoren,{ar_code()},,,",
        "18000,Bank,1000,,,",
        "30000,Capital,3000,,,",
        "80000,Revenue,4000,,,",
        "69000,Old stock,1999,yes,Legacy stock,asset",
    )


def opening_file(ar: str = "3000.00", bank: str = "7000.00") -> bytes:
    total = Decimal(ar) + Decimal(bank)
    return csv("Account,Debit,Credit", f"10000,{ar},", f"18000,{bank},", f"30000,,{total}")


def receivables_file(*rows: str) -> bytes:
    return csv("Number,Customer,Issue date,Due date,Gross,Paid", *rows)


@pytest.fixture
def moved_in(golive, admin):
    """A go-live with its chart, periods, opening balances and three open invoices imported."""
    clients = [make_account(name=f"Client {c}", external_id=f"C-{c}") for c in "ABC"]
    run(golive, "chart", chart_file(), admin, apply=True)
    run(golive, "periods", csv("Period", *[f"2025-{m:02d}" for m in range(7, 13)], "2026-01", "2026-02", "2026-03"),
        admin, apply=True)  # fmt: skip
    run(golive, "opening_balances", opening_file(), admin, apply=True)
    run(
        golive,
        "receivables",
        receivables_file(
            "OLD-1001,C-A,2026-02-10,2026-03-12,1200.00,200.00",
            "OLD-1002,C-B,2026-03-01,2026-03-31,1000.00,",
            "OLD-1003,Client C,2026-03-20,2026-04-19,1000.00,",
        ),
        admin,
        apply=True,
    )
    golive.refresh_from_db()
    golive.clients = clients
    return golive
