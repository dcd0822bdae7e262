"""Deterministic ledger data for the benchmarks, loaded by COPY.

The firm is fixed (the default chart, `clients` clients with two projects each) and posts a constant number of
journal lines a month; a bigger ledger is a longer history, which is how a real ledger grows. The months end
with the month before BASE_END; all but the last OPEN_MONTHS are closed through the real `period_close`
service, which writes the stored monthly balances. Each month's lines go to their own monthly partition. Rows
are streamed with COPY with triggers off for the load (`session_replication_role = replica`, the benchmark
database's superuser), then the number series and sequences are set so the posting service continues gaplessly.
"""

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from django.db import DatabaseError, connection

from ledger.choices import PeriodStatus, RecognitionRunStatus
from ledger.models import AccountingPeriod, LedgerAccount, RecognitionRun
from ledger.services import period_close, periods_ensure
from ledger.services.chart import chart_ensure_default
from ledger.services.partitions import line_partitions_ensure
from psa.core.dates import month_end
from psa.core.entities import entity_default_id
from psa.core.models import NumberSeries
from tests.benchmarks.generator import copy_rows

BASE_END = date(2026, 11, 1)  # the history ends with October 2026
OPEN_MONTHS = 2
LINES_PER_MONTH = {"tiny": 300, "S": 2_000, "M": 20_000, "L": 200_000}
CLIENTS = {"tiny": 10, "S": 60, "M": 200, "L": 2_000}
# The two ledger sizes a trial-balance growth record compares, per BENCH_SIZE (L: the 30 million lines).
GROWTH_LINES = {"tiny": (3_000, 9_000), "S": (20_000, 200_000), "M": (200_000, 2_000_000), "L": (3_000_000, 30_000_000)}
LEDGER_TABLES = ("ledger_accountbalance", "ledger_journalline", "ledger_journalentry", "ledger_accountingperiod")


def ledger_truncate() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(LEDGER_TABLES)} RESTART IDENTITY CASCADE")
        cursor.execute("DELETE FROM core_numberseries WHERE series = 'JE'")


def months_back(end: date, n: int) -> list[date]:
    months = []
    y, m = end.year, end.month
    for _ in range(n):
        m -= 1
        if m == 0:
            y, m = y - 1, 12
        months.insert(0, date(y, m, 1))
    return months


@dataclass
class Firm:
    accounts: dict[str, int]
    projects: list[tuple[int, int]]  # (project id, client id)


def firm_ensure(size: str) -> Firm:
    """The chart, and the bench clients with two projects each (created once, by natural key)."""
    from crm.models import Account
    from projects.models import Project

    chart_ensure_default()
    n = CLIENTS[size]
    have = set(Account.objects.filter(name__startswith="Bench client ").values_list("name", flat=True))
    Account.objects.bulk_create(
        [Account(name=f"Bench client {i:04d}") for i in range(n) if f"Bench client {i:04d}" not in have]
    )
    clients = list(
        Account.objects.filter(name__startswith="Bench client ").order_by("name").values_list("pk", flat=True)[:n]
    )
    codes = set(Project.objects.filter(code__startswith="BENCH-").values_list("code", flat=True))
    Project.objects.bulk_create(
        [
            Project(code=f"BENCH-{i:04d}-{j}", name=f"Bench project {i}-{j}", account_id=client_id)
            for i, client_id in enumerate(clients)
            for j in (1, 2)
            if f"BENCH-{i:04d}-{j}" not in codes
        ]
    )
    projects = list(
        Project.objects.filter(code__startswith="BENCH-").order_by("code").values_list("pk", "account_id")[: 2 * n]
    )
    accounts = dict(LedgerAccount.objects.values_list("code", "pk"))
    return Firm(accounts=accounts, projects=projects)


def _cents(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def entry_shapes(
    firm: Firm, rng: random.Random
) -> list[tuple[str, list[tuple[str, Decimal, Decimal, int | None, int | None]]]]:
    """One entry's memo and lines: (account code, debit, credit, client id, project id)."""
    project_id, client_id = rng.choice(firm.projects)
    kind = rng.random()
    if kind < 0.4:  # an invoice: receivable / tax / revenue
        net = _cents(rng, 500, 20_000)
        tax = (net * Decimal("0.21")).quantize(Decimal("0.01"))
        return "Invoice", [
            ("1100", net + tax, Decimal(0), client_id, None),
            ("2100", Decimal(0), tax, client_id, None),
            ("4000", Decimal(0), net, client_id, project_id),
        ]
    if kind < 0.7:  # a payment
        amount = _cents(rng, 500, 20_000)
        return "Payment", [("1000", amount, Decimal(0), None, None), ("1100", Decimal(0), amount, client_id, None)]
    if kind < 0.9:  # delivery cost
        amount = _cents(rng, 200, 8_000)
        return "Cost of services", [
            ("5000", amount, Decimal(0), client_id, project_id),
            ("1000", Decimal(0), amount, None, None),
        ]
    amount = _cents(rng, 50, 3_000)
    code = rng.choice(["6000", "6100", "6200", "5100"])
    return "Operating expense", [(code, amount, Decimal(0), None, None), ("2300", Decimal(0), amount, None, None)]


def build_month(firm: Firm, month: date, lines_target: int, rng: random.Random):
    """Entries (memo, day, lines) for one month until about `lines_target` lines."""
    entries = []
    lines = 0
    last_day = month_end(month).day
    while lines < lines_target:
        memo, entry_lines = entry_shapes(firm, rng)
        entries.append((memo, month.replace(day=rng.randint(1, last_day)), entry_lines))
        lines += len(entry_lines)
    entries.sort(key=lambda e: e[1])
    return entries


ENTRY_COLUMNS = ["id", "number", "date", "period_id", "memo", "source", "origin", "idempotency_key", "spec_hash",
                 "total", "posted_at", "entity_id"]  # fmt: skip
LINE_COLUMNS = ["id", "entry_id", "line_no", "account_id", "debit", "credit", "client_id", "project_id", "memo", "date",
                "period_id", "currency", "amount_currency", "rate", "entity_id"]  # fmt: skip


def _triggers_off() -> list[str]:
    """Skip the ledger's triggers for the bulk load (the generated rows balance by construction): as superuser
    for the session only, otherwise (CI's app role owns the tables) per table. Returns the statements that undo
    it."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
        return ["SET session_replication_role = DEFAULT"]
    except DatabaseError:
        tables = ("ledger_journalentry", "ledger_journalline")
        with connection.cursor() as cursor:
            for table in tables:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        return [f"ALTER TABLE {table} ENABLE TRIGGER USER" for table in tables]


def ledger_load(size: str, total_lines: int, *, seed: int = 20261121, close: bool = True) -> dict:
    """Truncate the journal and load about `total_lines` lines of history; returns facts about the load."""
    ledger_truncate()
    firm = firm_ensure(size)
    per_month = LINES_PER_MONTH[size]
    n_months = max(OPEN_MONTHS + 1, round(total_lines / per_month))
    months = months_back(BASE_END, n_months)
    periods_ensure(start=months[0], through=months[-1])
    # Each month of history in its own partition, as a running firm's ledger is (the beat job creates months
    # ahead, and rows loaded into the DEFAULT partition are moved out month by month): a report's open months
    # then read their own partitions, not one DEFAULT partition holding the whole history.
    line_partitions_ensure(today=months[0], ahead=n_months + 3)
    period_ids = dict(AccountingPeriod.objects.values_list("start", "pk"))
    entity_id = entity_default_id()  # the whole history is the default entity's books
    rng = random.Random(seed)
    counters: dict[int, int] = {}
    entry_id = line_id = 0
    posted_at = datetime(2026, 11, 1, tzinfo=UTC)
    restore = _triggers_off()
    try:
        for month in months:  # a month at a time, so a 30-million-line ledger never sits in memory whole
            entry_rows, line_rows = [], []
            for memo, day, lines in build_month(firm, month, per_month, rng):
                entry_id += 1
                counters[day.year] = counters.get(day.year, 0) + 1
                number = f"JE-{day.year}-{counters[day.year]:06d}"
                total = sum((ln[1] for ln in lines), Decimal(0))
                pid = period_ids[month]
                entry_rows.append((entry_id, number, day, pid, memo, "bench", "system", f"bench:{entry_id}", "",
                                   total, posted_at, entity_id))  # fmt: skip
                for i, (code, debit, credit, client_id, project_id) in enumerate(lines, 1):
                    line_id += 1
                    line_rows.append((line_id, entry_id, i, firm.accounts[code], debit, credit, client_id,
                                      project_id, "", day, pid, "EUR", debit or credit, 1, entity_id))  # fmt: skip
            copy_rows("ledger_journalentry", ENTRY_COLUMNS, entry_rows)
            copy_rows("ledger_journalline", LINE_COLUMNS, line_rows)
    finally:
        with connection.cursor() as cursor:
            for statement in restore:
                cursor.execute(statement)
    with connection.cursor() as cursor:
        for table in ("ledger_journalentry", "ledger_journalline"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
    NumberSeries.objects.bulk_create([NumberSeries(series="JE", year=y, last=n) for y, n in counters.items()])
    closed = 0
    if close:
        to_close = list(AccountingPeriod.objects.order_by("start")[: n_months - OPEN_MONTHS])
        # The loaded history was recognised month by month (its revenue lines are part of the load), so each
        # month to close carries its finished run: the close checklist's blocking item is done.
        finished = datetime(2026, 1, 1, tzinfo=UTC)
        RecognitionRun.objects.bulk_create(
            RecognitionRun(period=p, status=RecognitionRunStatus.DONE, finished_at=finished) for p in to_close
        )
        for period in to_close:
            period_close(period_id=period.pk, by=None, reason="benchmark load")
            closed += 1
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE ledger_journalline")
        cursor.execute("ANALYZE ledger_journalentry")
        cursor.execute("ANALYZE ledger_accountbalance")
    open_periods = AccountingPeriod.objects.filter(status=PeriodStatus.OPEN).order_by("start")
    return {
        "lines": line_id,
        "entries": entry_id,
        "months": n_months,
        "closed": closed,
        "at": month_end(months[-1]),
        "first_open": open_periods.first(),
        "firm": firm,
    }
