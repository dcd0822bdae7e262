"""The ledger's hand-written SQL, in one module, through public Django APIs only (`connection.cursor()`,
`Model._meta.db_table`, `Model.from_db` for instances built from raw rows).

Each statement is here because it sits on a hot path where the ORM's per-query cost or statement shape would
dominate: the posting engine (thousands of entries per billing or recognition job; journal_post benchmark), the
reports' cumulative balances (trial_balance benchmark), closing a month, and the recognition run's set-based
writes (revenue_run benchmark). Where SQLite cannot run a statement the ORM twin sits next to it.
"""

import functools
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from datetime import date as Date  # the name `date` is also a field of EntryValues
from decimal import Decimal
from typing import NamedTuple

from django.db import connection
from django.db.models import F, Model

from crm.models import Account as Client
from ledger.choices import JOURNAL_SERIES
from ledger.models import (
    AccountBalance,
    AccountingPeriod,
    JournalEntry,
    JournalLine,
    LedgerAccount,
    PeriodClose,
    Recognition,
    RevenueSchedule,
)
from projects.models import Project
from psa.core.entities import entity_default
from psa.core.exceptions import ValidationFailed
from psa.core.models import LegalEntity, NumberSeries
from psa.core.numbering import number_next_sql, number_next_sql_from
from psa.core.replica import read_connection
from psa.core.sql import prepared_execute, unnest

PERIOD_COLUMNS = ("id", "start", "end", "status")
ACCOUNT_COLUMNS = ("id", "code", "name", "type", "system_role", "is_control", "is_active", "description")


def rows_where_in(model: type[Model], columns: str, key: str, values: Iterable) -> list[tuple]:
    """SELECT `columns` of `model` WHERE `key` IN `values` (no query when there are none). On PostgreSQL the values
    go as one array (`= ANY(%s)`), so the statement's text does not grow with them."""
    values = list(values)
    if not values:
        return []
    table = model._meta.db_table
    reading = read_connection(model)
    with reading.cursor() as cursor:
        if reading.vendor == "postgresql":
            cursor.execute(f"SELECT {columns} FROM {table} WHERE {key} = ANY(%s)", [values])
        else:
            placeholders = ", ".join(["%s"] * len(values))
            cursor.execute(f"SELECT {columns} FROM {table} WHERE {key} IN ({placeholders})", values)
        return cursor.fetchall()


def period_first(where: str, params: list, *, lock: bool = False, descending: bool = False) -> AccountingPeriod | None:
    """The first accounting period (by start, or the last with `descending`) matching `where`, optionally locked
    against a concurrent close (FOR NO KEY UPDATE, PostgreSQL). `where` may use `OPEN_FOR` and `CLOSED_FOR`
    (one entity id parameter each)."""
    suffix = " FOR NO KEY UPDATE" if lock and connection.vendor == "postgresql" else ""
    order = "DESC" if descending else "ASC"
    reading = connection if lock else read_connection(AccountingPeriod)
    with reading.cursor() as cursor:
        cursor.execute(
            f'SELECT id, start, "end", status FROM {AccountingPeriod._meta.db_table} p WHERE {where} '
            f"ORDER BY start {order} LIMIT 1{suffix}",
            params,
        )
        row = cursor.fetchone()
    return None if row is None else AccountingPeriod.from_db(reading.alias, PERIOD_COLUMNS, row)


# Conditions on a period row aliased `p`: closed (or open) for the entity given as the parameter.
CLOSED_FOR = f"EXISTS (SELECT 1 FROM {PeriodClose._meta.db_table} c WHERE c.period_id = p.id AND c.entity_id = %s)"
OPEN_FOR = f"NOT {CLOSED_FOR}"


def period_is_open_for(*, period_id: int, entity_id: int) -> bool:
    """Whether the month `period_id` is open for the entity (no PeriodClose row)."""
    return not PeriodClose.objects.filter(period_id=period_id, entity_id=entity_id).exists()


def entry_key_row(key: str) -> tuple[int, str] | None:
    """(id, spec_hash) of the entry posted with idempotency key `key`, if any."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, spec_hash FROM {JournalEntry._meta.db_table} WHERE idempotency_key = %s", [key])
        return cursor.fetchone()


ENTRY_COLUMNS = (
    "date", "requested_date", "memo", "source", "origin", "idempotency_key", "spec_hash",
    "reverses_id", "auto_reverse_on", "total", "posted_by_id", "entity_id",
)  # fmt: skip


class LineRow(NamedTuple):
    """A journal line as `entry_insert` writes it (the entry, date and period come from the entry)."""

    line_no: int
    account_id: int
    debit: Decimal
    credit: Decimal
    client_id: int | None
    project_id: int | None
    memo: str
    currency: str
    amount_currency: Decimal
    rate: Decimal


LINE_COLUMNS = LineRow._fields


def entity_series(entity_id: int | None) -> tuple[int, str]:
    """(id, series prefix) of the entity `entity_id`, or of the default entity when None: one query."""
    table = LegalEntity._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, series_prefix FROM {table} WHERE id = %s OR (%s IS NULL AND is_active) ORDER BY id LIMIT 1",
            [entity_id, entity_id],
        )
        row = cursor.fetchone()
    if row is None:
        if entity_id is not None:
            raise ValidationFailed("No such legal entity.", fields={"entity": [f"Unknown entity {entity_id}."]})
        entity = entity_default()
        return entity.pk, entity.series_prefix
    return row[0], row[1]


def entry_insert(entry: JournalEntry, lines: Sequence[LineRow], *, series: str = JOURNAL_SERIES) -> tuple | None:
    """Lock the open period covering the entry's date, take the number, insert the entry and its lines: one
    PostgreSQL statement (data-modifying CTEs), one round trip instead of five, which keeps bulk posting close
    to hand-written SQL. The lines come as one array per column (psa.core.sql.unnest), so the statement's text
    is the same whatever the number of lines: the driver does not re-parse a statement thousands of
    placeholders long for each entry. Returns (id, number, posted_at, period_id), or None, having written nothing
    and taken no number, when no period open for the entry's entity covers the date. The triggers and the deferred
    balance check see the whole entry."""
    period_table, entry_table, line_table = (
        AccountingPeriod._meta.db_table,
        JournalEntry._meta.db_table,
        JournalLine._meta.db_table,
    )
    cte, number_expr, number_params = number_next_sql(series=series, on=entry.date, when="period")
    params: list = [entry.date, entry.date, entry.entity_id, *number_params]
    params += [
        entry.date, entry.requested_date, entry.memo, entry.source, entry.origin, entry.idempotency_key,
        entry.spec_hash, entry.reverses_id, entry.auto_reverse_on, entry.total, entry.posted_by_id, entry.entity_id,
    ]  # fmt: skip
    source = unnest(LineRow, lines, params)
    sql = (
        f"WITH period AS (SELECT id FROM {period_table} p "
        f'WHERE start <= %s AND "end" >= %s AND {OPEN_FOR} FOR NO KEY UPDATE), '
        f"{cte}, entry AS ("
        f"INSERT INTO {entry_table} (number, period_id, {', '.join(ENTRY_COLUMNS)}, posted_at) "
        f"SELECT {number_expr}, period.id, {', '.join(['%s'] * len(ENTRY_COLUMNS))}, now() "
        f"FROM number_next, period "
        f"RETURNING id, number, posted_at, period_id, date, entity_id), lines AS ("
        f"INSERT INTO {line_table} (entry_id, date, period_id, entity_id, {', '.join(LINE_COLUMNS)}) "
        f"SELECT entry.id, entry.date, entry.period_id, entry.entity_id, {', '.join('u.' + c for c in LINE_COLUMNS)} "
        f"FROM entry, {source} ORDER BY u.line_no RETURNING 1) "
        f"SELECT id, number, posted_at, period_id FROM entry"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row


# The entry's values as entry_post_statement passes them (ENTRY_COLUMNS less entity_id), each with its type.
ENTRY_CASTS = (
    "%s::date", "%s::date", "%s::text", "%s::text", "%s::text", "%s::text", "%s::text", "%s::bigint", "%s::date",
    "%s::numeric", "%s::integer",
)  # fmt: skip


class EntryValues(NamedTuple):
    """The entry's own values as `entry_post_statement` writes them (ENTRY_COLUMNS less entity_id, in order): plain
    values, so that posting builds one model instance per entry (the posted one), not two."""

    date: Date
    requested_date: Date | None
    memo: str
    source: str
    origin: str
    idempotency_key: str
    spec_hash: str
    reverses_id: int | None
    auto_reverse_on: Date | None
    total: Decimal
    posted_by_id: int | None


class CodeLineRow(NamedTuple):
    """A journal line as `entry_post_statement` takes it: the account by code, the client as given (None: the
    project's client, looked up by the statement)."""

    line_no: int
    account_code: str
    debit: Decimal
    credit: Decimal
    client_id: int | None
    project_id: int | None
    memo: str
    currency: str
    amount_currency: Decimal
    rate: Decimal


class Posted(NamedTuple):
    """What `entry_post_statement` did: `status` is "posted" (id, number, posted_at, period_id, entity_id of the new
    entry), "existing" (id and spec_hash of the entry posted with the key) or "look" (nothing written: an account,
    client or project did not check out, no entity, or no period open for the entity covers the date; the caller
    looks closer with its separate queries, which name the problem or resolve it)."""

    status: str
    id: int | None = None
    number: str = ""
    posted_at: datetime | None = None
    period_id: int | None = None
    entity_id: int | None = None
    spec_hash: str = ""
    counter_at: str | None = None  # where the journal series' counter row now is (number_next_sql_from's `at`)


@functools.cache
def _entry_post_sql(source: str, cte: str, number_expr: str) -> str:
    """entry_post_statement's text for the lines' `source` and the numbering's CTE and expression (the same text on
    every call: written once per process)."""
    period_table, entry_table, line_table, close_table = (
        AccountingPeriod._meta.db_table,
        JournalEntry._meta.db_table,
        JournalLine._meta.db_table,
        PeriodClose._meta.db_table,
    )
    columns = [c for c in ENTRY_COLUMNS if c != "entity_id"]
    line_columns = [c for c in LINE_COLUMNS if c not in ("account_id", "client_id")]
    return (
        f"WITH u AS (SELECT * FROM {source}), "
        f"existing AS (SELECT id, spec_hash FROM {entry_table} WHERE idempotency_key = %s::text), "
        f"ent AS (SELECT id, series_prefix FROM {LegalEntity._meta.db_table} "
        "WHERE id = %s::bigint OR (%s::bigint IS NULL AND is_active) ORDER BY id LIMIT 1), "
        "src AS (SELECT u.*, a.id AS account_id, COALESCE(u.client_id, pr.account_id) AS line_client_id, "
        "(a.id IS NULL OR NOT a.is_active OR (a.is_control AND %s::boolean) "
        "OR (u.project_id IS NOT NULL AND pr.id IS NULL) "
        "OR (u.client_id IS NOT NULL AND pr.id IS NOT NULL AND pr.account_id <> u.client_id) "
        f"OR (u.client_id IS NOT NULL AND pr.id IS NULL AND NOT EXISTS "
        f"(SELECT 1 FROM {Client._meta.db_table} c WHERE c.id = u.client_id OFFSET 0))) AS bad "
        # Each line's account and project by key (OFFSET 0 keeps them apart, so the plan probes their unique
        # indexes for the entry's two or three lines instead of hashing the whole accounts and projects tables).
        f"FROM u LEFT JOIN LATERAL (SELECT id, is_active, is_control FROM {LedgerAccount._meta.db_table} "
        "WHERE code = u.account_code OFFSET 0) a ON true "
        f"LEFT JOIN LATERAL (SELECT id, account_id FROM {Project._meta.db_table} WHERE id = u.project_id OFFSET 0) pr "
        "ON true), "
        "ok AS (SELECT id, series_prefix FROM ent "
        "WHERE NOT EXISTS (SELECT 1 FROM existing) AND NOT EXISTS (SELECT 1 FROM src WHERE bad)), "
        f"period AS (SELECT p.id, ok.id AS entity_id, "
        "CASE WHEN ok.series_prefix = '' THEN %s::text ELSE ok.series_prefix || '-' || %s::text END AS series "
        f'FROM ok, {period_table} p WHERE p.start <= %s::date AND p."end" >= %s::date AND NOT EXISTS '
        f"(SELECT 1 FROM {close_table} c WHERE c.period_id = p.id AND c.entity_id = ok.id OFFSET 0) "
        "FOR NO KEY UPDATE OF p), "
        f"{cte}, entry AS ("
        f"INSERT INTO {entry_table} (number, period_id, entity_id, {', '.join(columns)}, posted_at) "
        f"SELECT {number_expr}, period.id, period.entity_id, {', '.join(ENTRY_CASTS)}, now() "
        "FROM number_next, period "
        "RETURNING id, number, posted_at, period_id, date, entity_id), lines AS ("
        f"INSERT INTO {line_table} (entry_id, date, period_id, entity_id, account_id, client_id, "
        f"{', '.join(line_columns)}) "
        "SELECT entry.id, entry.date, entry.period_id, entry.entity_id, src.account_id, src.line_client_id, "
        f"{', '.join('src.' + c for c in line_columns)} FROM entry, src RETURNING 1) "
        "SELECT 'posted', entry.id, number, posted_at, period_id, entity_id, '', number_next.ctid::text "
        "FROM entry, number_next "
        "UNION ALL SELECT 'existing', id, '', NULL, NULL, NULL, spec_hash, NULL FROM existing"
    )


# (entity id as given, year) -> where the last posting statement left that journal series' counter row: a hint for the
# next statement on any connection of this process (see psa.core.sql.number_series_bump_cte_from).
_COUNTER_AT: dict[tuple[int | None, int], str] = {}


def entry_post_statement(
    entry: EntryValues, lines: Sequence[CodeLineRow], *, entity_id: int | None, system: bool
) -> Posted:
    """Post an entry in ONE statement, every look-up included: the idempotency key (an entry already posted with it
    is returned, nothing written), the accounts by code (exist, active, control accounts only for the system), the
    client and project of each line (exist, the project's client; a line without a client takes its project's),
    the legal entity (`entity_id`, or the default: the first active one) and its journal series, the period open
    for the entity that covers the date (locked FOR NO KEY UPDATE against a concurrent close), the gapless number
    (psa.core.numbering), the entry and its lines. Anything that does not check out writes nothing and takes no
    number ("look"). The database's triggers (open period, immutability, the balance at commit) and foreign keys
    still check every row."""
    counter = (entity_id, entry.date.year)
    cte, number_expr, number_params = number_next_sql_from(
        series_column="series", on=entry.date, when="period", at=_COUNTER_AT.get(counter)
    )
    params: list = []
    source = unnest(CodeLineRow, lines, params)
    params += [entry.idempotency_key, entity_id, entity_id, not system, JOURNAL_SERIES, JOURNAL_SERIES, entry.date,
               entry.date, *number_params, *entry]  # fmt: skip
    rows = prepared_execute(_entry_post_sql(source, cte, number_expr), params)
    if not rows:
        # With an address the statement bumps only a counter that exists: the next one creates it if need be.
        _COUNTER_AT.pop(counter, None)
        return Posted("look")
    posted = Posted(*rows[0])
    if posted.counter_at is not None:
        _COUNTER_AT[counter] = posted.counter_at
    return posted


def accounts_by_id(ids: Iterable[int]) -> dict[int, LedgerAccount]:
    """The accounts with these ids (no query when there are none)."""
    rows = rows_where_in(LedgerAccount, ", ".join(ACCOUNT_COLUMNS), "id", ids)
    alias = read_connection(LedgerAccount).alias
    accounts = (LedgerAccount.from_db(alias, ACCOUNT_COLUMNS, row) for row in rows)
    return {account.pk: account for account in accounts}


class Closed(NamedTuple):
    """An entity and the last month it has closed on or before a report's date (None for all three when it has
    closed none)."""

    entity_id: int
    period_id: int | None
    end: date | None
    start: date | None


def closes_through(at: date, *, entity_id: int | None = None) -> list[Closed]:
    """Every entity (or the one entity) with the last month closed for it that ends on or before `at` (an entity's
    closed months are a prefix of the calendar, so it is the latest one), or None: one query."""
    entity_table, close_table, period_table = (
        LegalEntity._meta.db_table,
        PeriodClose._meta.db_table,
        AccountingPeriod._meta.db_table,
    )
    params: list[date | int] = [at]
    only = ""
    if entity_id is not None:
        only = "WHERE e.id = %s"
        params.append(entity_id)
    with read_connection(PeriodClose).cursor() as cursor:
        cursor.execute(
            f'SELECT e.id, p.id, p."end", p.start FROM {entity_table} e '
            f"LEFT JOIN {period_table} p ON p.id = (SELECT q.id FROM {close_table} d "
            f'JOIN {period_table} q ON q.id = d.period_id WHERE d.entity_id = e.id AND q."end" <= %s '
            f"ORDER BY q.start DESC LIMIT 1) {only}",
            params,
        )
        return sorted(Closed(*row) for row in cursor.fetchall())


def journal_stamp() -> str | None:
    """A stamp of the journal's state as the reports read it, for reusing their line sums exactly
    (psa.core.pagecache.stamped_result): the database's identity and the entries table's file (a new database, a
    restore or a TRUNCATE, as the tests' flush, gives new ones), the sum and count of the journal series'
    counters, and the count and last id of the month closes. Every posting, reversal and import of entries bumps a
    journal counter in its own transaction (lines are never changed or deleted), and the stored balances are
    written and removed only with a close or a reopen, so the stamp moves with every change the sums could see.
    None outside PostgreSQL and inside a transaction: its own writes are not committed, and a result computed
    from them must never be stored for others."""
    reading = read_connection(JournalLine)
    if reading.vendor != "postgresql" or reading.in_atomic_block or connection.in_atomic_block:
        return None
    series_table, close_table = NumberSeries._meta.db_table, PeriodClose._meta.db_table
    with reading.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT oid FROM pg_database WHERE datname = current_database()), "
            f"pg_relation_filenode('{JournalEntry._meta.db_table}'::regclass), s.total, s.n, c.n, c.last "
            f"FROM (SELECT COALESCE(SUM(last), 0) AS total, COUNT(*) AS n FROM {series_table} "
            "WHERE series = %s OR series LIKE %s) s, "
            f"(SELECT COUNT(*) AS n, COALESCE(MAX(id), 0) AS last FROM {close_table}) c",
            [JOURNAL_SERIES, f"%-{JOURNAL_SERIES}"],
        )
        return ".".join(str(v) for v in cursor.fetchone())


def cumulative_rows(
    *,
    columns: Sequence[str],
    at: date,
    closed: Sequence[Closed],
    account_id: int | None,
    entity_id: int | None = None,
) -> list[tuple]:
    """Rows of (*columns, Σ debit, Σ credit) through `at`, grouped by `columns` (line columns such as account_id,
    client_id, project_id): for each entity in `closed` (closes_through), the stored cumulative balances of the
    last month it closed plus its journal lines dated after that month through `at`; the lines of an entity with
    no closed month from the first. Only the entity `entity_id` when given; optionally one account only. One
    statement, whose branches follow the distinct closing dates (usually one), each reading lines by entity and
    date through an index, so its cost follows the open months, not the history."""
    group = ", ".join(columns)
    account_sql, account_params = ("AND account_id = %s", [account_id]) if account_id is not None else ("", [])
    line_table, balance_table = JournalLine._meta.db_table, AccountBalance._meta.db_table
    parts: list[str] = []
    params: list = []
    by_period: dict[int, list[int]] = {}
    by_end: dict[date, list[int]] = {}
    never: list[int] = []
    for row in closed:
        if entity_id is not None and row.entity_id != entity_id:
            continue
        if row.period_id is None or row.end is None:
            never.append(row.entity_id)
            continue
        by_period.setdefault(row.period_id, []).append(row.entity_id)
        by_end.setdefault(row.end, []).append(row.entity_id)
    for period_id, entity_ids in by_period.items():
        parts.append(
            f"SELECT {group}, cum_debit AS d, cum_credit AS c FROM {balance_table} "
            f"WHERE period_id = %s AND entity_id IN ({', '.join(['%s'] * len(entity_ids))}) {account_sql}"
        )
        params += [period_id, *entity_ids, *account_params]
    for since, entity_ids in by_end.items():
        parts.append(
            f"SELECT {group}, debit AS d, credit AS c FROM {line_table} WHERE date > %s AND date <= %s "
            f"AND entity_id IN ({', '.join(['%s'] * len(entity_ids))}) {account_sql}"
        )
        params += [since, at, *entity_ids, *account_params]
    if never:
        parts.append(
            f"SELECT {group}, debit AS d, credit AS c FROM {line_table} WHERE date <= %s "
            f"AND entity_id IN ({', '.join(['%s'] * len(never))}) {account_sql}"
        )
        params += [at, *never, *account_params]
    if not parts:  # no entity at all (or not the one asked for): nothing is posted
        return []
    with read_connection(JournalLine).cursor() as cursor:
        cursor.execute(f"SELECT {group}, SUM(d), SUM(c) FROM ({' UNION ALL '.join(parts)}) x GROUP BY {group}", params)
        return cursor.fetchall()


BALANCE_INSERT = """
INSERT INTO ledger_accountbalance
  (period_id, entity_id, account_id, client_id, project_id, debit, credit, cum_debit, cum_credit)
SELECT %s, %s, account_id, client_id, project_id, SUM(d), SUM(c), SUM(cd), SUM(cc) FROM (
  SELECT account_id, client_id, project_id, 0 AS d, 0 AS c, cum_debit AS cd, cum_credit AS cc
    FROM ledger_accountbalance WHERE period_id = %s AND entity_id = %s
  UNION ALL
  SELECT account_id, client_id, project_id, debit, credit, debit, credit
    FROM ledger_journalline WHERE period_id = %s AND entity_id = %s
) movements
GROUP BY account_id, client_id, project_id
"""


def balances_insert(*, period_id: int, entity_id: int, previous_id: int | None) -> int:
    """Write the stored balances of an entity closing a month, from its previous month's and its own lines;
    returns the rows."""
    with connection.cursor() as cursor:
        cursor.execute(BALANCE_INSERT, [period_id, entity_id, previous_id, entity_id, period_id, entity_id])
        return cursor.rowcount


def advisory_xact_lock(name: str) -> None:
    """Hold a PostgreSQL advisory lock named `name` until the transaction ends (nothing elsewhere)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [name])


def schedules_add(rows: list[tuple[int, Decimal, Decimal]], *, last_period_id: int, now: datetime) -> None:
    """Add (schedule id, revenue, provision) to each schedule's totals: one UPDATE ... FROM unnest(...) on
    PostgreSQL (Django's bulk_update builds a CASE per row and field, which costs more than the posting itself)."""
    if connection.vendor != "postgresql":
        for pk, revenue, provision in rows:
            RevenueSchedule.objects.filter(pk=pk).update(
                recognised=F("recognised") + revenue,
                provision=F("provision") + provision,
                last_period_id=last_period_id,
                updated_at=now,
            )
        return
    ids, revenues, provisions = (list(column) for column in zip(*rows, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {RevenueSchedule._meta.db_table} s SET recognised = s.recognised + v.revenue, "
            "provision = s.provision + v.provision, last_period_id = %s, updated_at = %s "
            "FROM unnest(%s::bigint[], %s::numeric[], %s::numeric[]) AS v(id, revenue, provision) WHERE s.id = v.id",
            [last_period_id, now, ids, revenues, provisions],
        )


def recognitions_insert(rows: Sequence[NamedTuple]) -> None:
    """Insert Recognition rows (named tuples whose fields are its columns): on PostgreSQL one INSERT ... SELECT
    FROM unnest(one array per column), so the statement has one parameter per column whatever the number of rows."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        Recognition.objects.bulk_create([Recognition(**row._asdict()) for row in rows])
        return
    params: list = []
    source = unnest(type(rows[0]), rows, params)
    columns = ", ".join(rows[0]._fields)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {Recognition._meta.db_table} ({columns}) SELECT {columns} FROM {source}", params)
