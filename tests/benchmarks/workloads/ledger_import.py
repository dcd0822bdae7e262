"""ledger_import: a journal history imported through ledger.services.journal_lines_import (staged by COPY, every
rule checked set-based, numbered, then one INSERT ... SELECT for the entries and one for the lines) against a bare
COPY of the same entries and lines, already numbered, straight into the journal tables. Both in one transaction,
into the same open months of an empty journal, through the same indexes, foreign keys and triggers (open period
per row, the balance of every entry at commit). tiny 3k lines, S 100k, M 1M over twelve months. Goal: ours at most
twice the COPY.
"""

import random
from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection, transaction

from ledger.models import AccountingPeriod, JournalEntry, JournalLine
from ledger.services import ImportEntry, LineSpec, journal_lines_import, periods_ensure
from psa.core.entities import entity_default_id
from tests.benchmarks.gen_ledger import BASE_END, build_month, firm_ensure, ledger_truncate, months_back
from tests.benchmarks.generator import copy_rows
from tests.benchmarks.harness import Record, timed

LINES = {"tiny": 3_000, "S": 100_000, "M": 1_000_000}
MONTHS = 12
SOURCE = "bench-history"
ENTRY_COLUMNS = ["id", "number", "date", "period_id", "memo", "source", "origin", "idempotency_key", "spec_hash",
                 "total", "posted_at", "entity_id"]  # fmt: skip
LINE_COLUMNS = ["entry_id", "line_no", "account_id", "debit", "credit", "client_id", "project_id", "memo", "date",
                "period_id", "currency", "amount_currency", "rate", "entity_id"]  # fmt: skip


def prepare(size: str):
    """The history to import (ImportEntry, in date order), the setup that empties the journal and opens its months,
    and the same history as the journal's rows for the COPY."""
    firm = firm_ensure(size)
    months = months_back(BASE_END, MONTHS)

    def setup() -> dict:
        ledger_truncate()  # periods too, with their ids restarted: the same ids each time
        periods_ensure(start=months[0], through=months[-1])
        return dict(AccountingPeriod.objects.values_list("start", "pk"))

    period_ids = setup()
    rng = random.Random(20261206)
    plan = []
    for month in months:
        plan += [(month, *e) for e in build_month(firm, month, LINES[size] // MONTHS, rng)]
    entries = [
        ImportEntry(
            date=day,
            memo=memo,
            reference=f"H{i:07d}",
            lines=tuple(LineSpec(code, debit=d, credit=c, client_id=cl, project_id=pr) for code, d, c, cl, pr in lines),
        )
        for i, (_month, memo, day, lines) in enumerate(plan, start=1)
    ]
    entity_id = entity_default_id()
    posted_at = datetime(2026, 11, 1, tzinfo=UTC)
    entry_rows, line_rows = [], []
    counters: dict[int, int] = {}
    for entry_id, (month, memo, day, lines) in enumerate(plan, start=1):
        counters[day.year] = counters.get(day.year, 0) + 1
        pid = period_ids[month]
        total = sum((ln[1] for ln in lines), Decimal(0))
        entry_rows.append((entry_id, f"JE-{day.year}-{counters[day.year]:06d}", day, pid, memo, f"import:{SOURCE}",
                           "system", f"import:{SOURCE}:H{entry_id:07d}", "", total, posted_at, entity_id))  # fmt: skip
        for line_no, (code, debit, credit, client_id, project_id) in enumerate(lines, start=1):
            line_rows.append((entry_id, line_no, firm.accounts[code], debit, credit, client_id, project_id, "", day,
                              pid, "EUR", debit or credit, 1, entity_id))  # fmt: skip
    return entries, setup, entry_rows, line_rows


def import_all(entries: list[ImportEntry]) -> int:
    with transaction.atomic():
        return journal_lines_import(entity=None, entries=entries, source=SOURCE, by=None)


def copy_all(entry_rows: list[tuple], line_rows: list[tuple]) -> None:
    with transaction.atomic():
        copy_rows("ledger_journalentry", ENTRY_COLUMNS, entry_rows)
        copy_rows("ledger_journalline", LINE_COLUMNS, line_rows)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('ledger_journalentry', 'id'), "
                "(SELECT MAX(id) FROM ledger_journalentry))"
            )


def journal_state() -> tuple[list, list]:
    """The journal as the books see it (numbers, dates, periods, totals; every line with its entry's number)."""
    entries = list(
        JournalEntry.objects.order_by("number").values_list("number", "date", "period_id", "memo", "total", "entity_id")
    )
    lines = list(
        JournalLine.objects.order_by("entry__number", "line_no").values_list(
            "entry__number", "line_no", "account_id", "debit", "credit", "client_id", "project_id", "date",
            "period_id", "currency", "amount_currency", "rate",
        )
    )  # fmt: skip
    return entries, lines


def run(size: str) -> list[Record]:
    entries, setup, entry_rows, line_rows = prepare(size)
    n_lines = len(line_rows)
    ours_s, queries = timed(lambda: import_all(entries), setup=setup, repeat=3)
    baseline_s, _ = timed(lambda: copy_all(entry_rows, line_rows), setup=setup, repeat=3)
    ledger_truncate()
    return [
        Record(
            name="ledger_import",
            size=size,
            ours_s=ours_s,
            baseline_s=baseline_s,
            goal_ratio=2.0,
            queries=queries,
            notes=f"{len(entries):,} entries / {n_lines:,} lines of history over {MONTHS} months: staged, checked "
            f"set-based, numbered, inserted; baseline bare COPY into the journal (same triggers)",
        )
    ]
