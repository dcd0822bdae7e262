"""Monthly range partitions on PostgreSQL (issue 24): converting a plain table into one partitioned by month on a
`date` column and back, and creating the months ahead. PostgreSQL only; callers skip it on SQLite.

Converting (`partition_table`) runs in the migration's transaction, holding an ACCESS EXCLUSIVE lock on the table:
1. read the table's indexes (`pg_indexes`), constraints (`pg_constraint`: checks, foreign keys, unique) and user
   triggers (`pg_trigger`, including deferred constraint triggers) and the identity sequence's position;
2. create `<table>_part` (`LIKE ... INCLUDING DEFAULTS INCLUDING IDENTITY`) `PARTITION BY RANGE (date)`, one
   partition `<table>_pYYYYMM` per month from the oldest row's month to `ahead` months after today, and a DEFAULT
   partition `<table>_pdefault` (so a row dated outside the created months is stored, never refused: a time entry
   may be typed for any year; `month_partitions_ensure` later moves such rows into their month's partition);
3. copy the rows in one `INSERT ... SELECT` (ids kept) and set the new identity sequence to the old one's position;
4. drop the old table, rename the new one (and its sequence) to the old names, then recreate every index,
   constraint and trigger read in step 1 under its own name. The primary key becomes `(id, date)` and each unique
   index or constraint gets the partition key appended (PostgreSQL requires the key in every unique index of a
   partitioned table); `widen` names the ones the caller has shown stay equivalent (see each migration), and an
   unknown unique index without the key stops the migration.

Indexes are built after the copy (faster than maintaining them row by row). Measured with
`python -m tests.benchmarks.partition_timing S 1000000 M 1000000` (README "Monthly partitions") on the shared
2-core test machine: 21 s per million time entries (21 s back to a plain table) and 44 s per million journal lines
over 50 months (22 s back), dominated by the index builds and the foreign-key validation scans.

Locks: the transaction ends up holding a lock on every partition and each of its indexes (about 17 a month for
journal lines). PostgreSQL's shared lock table holds max_locks_per_transaction x max_connections entries (64 x 100
by default), so a history of a few hundred months converted at once fails with "out of shared memory" (seen with a
generated 500-month ledger): raise max_locks_per_transaction for the migration then (256 is ample), or convert a
copy. Nothing is changed when it fails: the whole conversion is one transaction.

`unpartition_table` is the reverse: the same steps into a plain table with `PRIMARY KEY (id)` and the unique
constraints narrowed back to their original columns.
"""

import re
from datetime import date

from django.db.backends.base.base import BaseDatabaseWrapper

KEY = "date"
# Months of history a nightly run moves out of the DEFAULT partition at most (each move locks the table briefly).
BACKFILL_MONTHS = 12


def month_start(day: date, add: int = 0) -> date:
    index = day.year * 12 + day.month - 1 + add
    return date(index // 12, index % 12 + 1, 1)


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month:%Y%m}"


def _fetch(cursor, sql: str, params: list | None = None) -> list[tuple]:
    cursor.execute(sql, params or [])
    return list(cursor.fetchall())


def _definitions(cursor, table: str) -> dict[str, list[tuple[str, str]]]:
    """The table's indexes not backing a constraint, its constraints but the primary key and its user triggers, as
    (name, definition) pairs. Definitions name the table as `public.<table>` or by its bare name."""
    indexes = _fetch(
        cursor,
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() AND i.tablename = %s "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.indexname))::regclass "
        "AND c.conrelid = (quote_ident(i.tablename))::regclass) ORDER BY 1",
        [table],
    )
    constraints = _fetch(
        cursor,
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
        "AND contype IN ('c', 'f', 'u') AND conparentid = 0 ORDER BY contype, conname",
        [table],
    )
    triggers = _fetch(
        cursor,
        "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal "
        "AND tgparentid = 0 ORDER BY tgname",
        [table],
    )
    return {"indexes": indexes, "constraints": constraints, "triggers": triggers}


def _pkey_name(cursor, table: str) -> str:
    return _fetch(cursor, "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'", [table])[
        0
    ][0]


def _sequence_position(cursor, table: str) -> tuple[str | None, int | None]:
    sequence = _fetch(cursor, "SELECT pg_get_serial_sequence(%s, 'id')", [table])[0][0]
    if sequence is None:
        return None, None
    row = _fetch(cursor, f"SELECT last_value, is_called FROM {sequence}")[0]
    return sequence, (row[0] if row[1] else None)


def _retarget(definition: str, table: str, new: str) -> str:
    return re.sub(rf"\bON (ONLY )?(public\.)?{re.escape(table)}\b", f"ON {new}", definition, count=1)


def _unique_columns(definition: str) -> str:
    match = re.search(r"\(([^()]*)\)", definition)
    assert match, definition
    return match.group(1)


def _widened(definition: str, widen: set[str], name: str) -> str:
    """A unique index/constraint definition with the partition key appended to its columns."""
    columns = [c.strip() for c in _unique_columns(definition).split(",")]
    if KEY in columns:
        return definition
    if name not in widen:
        raise RuntimeError(f"unique index {name} has no {KEY} column and is not declared equivalent when widened")
    return definition.replace(f"({_unique_columns(definition)})", f"({', '.join([*columns, KEY])})", 1)


def _narrowed(definition: str, narrow: set[str], name: str) -> str:
    if name not in narrow:
        return definition
    columns = [c.strip() for c in _unique_columns(definition).split(",") if c.strip() != KEY]
    return definition.replace(f"({_unique_columns(definition)})", f"({', '.join(columns)})", 1)


def _rebuild(
    cursor, table: str, *, partitioned: bool, months: list[date], reshape, pkey: str
) -> None:  # pragma: no cover - exercised on PostgreSQL only
    """Copy `table` into a new plain or partitioned table with the same columns, rows, identity position, indexes,
    constraints and triggers; `reshape(kind, name, definition)` adjusts unique definitions."""
    new = f"{table}_part" if partitioned else f"{table}_plain"
    cursor.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE")
    defs = _definitions(cursor, table)
    old_sequence, position = _sequence_position(cursor, table)
    partition_by = f" PARTITION BY RANGE ({KEY})" if partitioned else ""
    cursor.execute(f"CREATE TABLE {new} (LIKE {table} INCLUDING DEFAULTS INCLUDING IDENTITY){partition_by}")
    if partitioned:
        for month in months:
            _create_month(cursor, new, month, name=partition_name(table, month))
        cursor.execute(f"CREATE TABLE {table}_pdefault PARTITION OF {new} DEFAULT")
    cursor.execute(f"INSERT INTO {new} OVERRIDING SYSTEM VALUE SELECT * FROM {table}")
    cursor.execute(f"DROP TABLE {table}")
    cursor.execute(f"ALTER TABLE {new} RENAME TO {table}")
    new_sequence, _ = _sequence_position(cursor, table)
    if new_sequence and old_sequence:
        cursor.execute(f"ALTER SEQUENCE {new_sequence} RENAME TO {old_sequence.split('.')[-1]}")
        if position is not None:
            cursor.execute("SELECT setval(%s, %s, true)", [old_sequence, position])
    primary = f"(id, {KEY})" if partitioned else "(id)"
    cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {pkey} PRIMARY KEY {primary}")
    for name, definition in defs["indexes"]:
        cursor.execute(reshape("index", name, _retarget(definition, table, table)))
    for name, definition in defs["constraints"]:
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {reshape('constraint', name, definition)}")
    for _name, definition in defs["triggers"]:
        cursor.execute(definition)


def _create_month(cursor, parent: str, month: date, *, name: str) -> None:
    cursor.execute(
        f"CREATE TABLE {name} PARTITION OF {parent} FOR VALUES FROM (%s) TO (%s)", [month, month_start(month, 1)]
    )


def partition_table(
    connection: BaseDatabaseWrapper, table: str, *, today: date, ahead: int, widen: set[str]
) -> None:  # pragma: no cover - exercised on PostgreSQL only
    """Turn plain `table` into one partitioned by month on `date` (see the module docstring)."""
    with connection.cursor() as cursor:
        oldest = _fetch(cursor, f"SELECT min({KEY}) FROM {table}")[0][0]
        first = month_start(min(oldest, today) if oldest else today)
        last = month_start(today, ahead)
        months = [month_start(first, i) for i in range((last.year - first.year) * 12 + last.month - first.month + 1)]

        def reshape(kind: str, name: str, definition: str) -> str:
            if definition.startswith("CREATE UNIQUE INDEX") or definition.startswith("UNIQUE"):
                return _widened(definition, widen, name)
            return definition

        _rebuild(cursor, table, partitioned=True, months=months, reshape=reshape, pkey=_pkey_name(cursor, table))


def unpartition_table(
    connection: BaseDatabaseWrapper, table: str, *, narrow: set[str]
) -> None:  # pragma: no cover - exercised on PostgreSQL only
    """Turn partitioned `table` back into a plain table: the reverse of `partition_table`."""
    with connection.cursor() as cursor:

        def reshape(kind: str, name: str, definition: str) -> str:
            return _narrowed(definition, narrow, name)

        _rebuild(cursor, table, partitioned=False, months=[], reshape=reshape, pkey=_pkey_name(cursor, table))


def is_partitioned(connection: BaseDatabaseWrapper, table: str) -> bool:
    with connection.cursor() as cursor:
        return bool(_fetch(cursor, "SELECT 1 FROM pg_partitioned_table WHERE partrelid = %s::regclass", [table]))


def month_partitions_ensure(
    connection: BaseDatabaseWrapper, table: str, *, today: date, ahead: int, backfill: int = BACKFILL_MONTHS
) -> list[str]:
    """Create the month partitions of `table` from today's month to `ahead` months on that do not exist yet, and a
    partition for each of up to `backfill` other months whose rows the DEFAULT partition holds (history loaded
    after the conversion: a go-live, a bulk import, a time entry typed for a past year), oldest first; rows of a
    new partition's month stored in the DEFAULT partition move into it. So a query filtered by date prunes to its
    months whatever the rows' age, and each nightly run moves a bounded number of months. Idempotent: a second
    run creates nothing once the DEFAULT partition holds no month's rows. Returns the names created, in month
    order. Does nothing on a plain (unpartitioned) table."""
    if connection.vendor != "postgresql" or not is_partitioned(connection, table):
        return []
    months = {month_start(today, i) for i in range(ahead + 1)}
    with connection.cursor() as cursor:
        if backfill > 0:
            held = _fetch(
                cursor,
                f"SELECT DISTINCT date_trunc('month', {KEY})::date AS m FROM {table}_pdefault ORDER BY m LIMIT %s",
                [backfill],
            )
            months |= {row[0] for row in held}
        created = []
        for month in sorted(months):
            name = partition_name(table, month)
            if _fetch(cursor, "SELECT to_regclass(%s)", [name])[0][0] is not None:
                continue
            _month_from_default(cursor, table, month, name=name)
            created.append(name)
    return created


def _month_from_default(cursor, table: str, month: date, *, name: str) -> None:
    """Create partition `name` for `month`. When the DEFAULT partition holds rows of that month they are moved
    into a standalone copy first, with the DEFAULT partition's user triggers (e.g. the ledger's immutability
    trigger, which refuses any DELETE) off for that one move only; the copy is then attached, which clones the
    parent's indexes, constraints and triggers onto it."""
    default = f"{table}_pdefault"
    bounds = [month, month_start(month, 1)]
    cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
    has_rows = _fetch(cursor, f"SELECT EXISTS (SELECT 1 FROM {default} WHERE {KEY} >= %s AND {KEY} < %s)", bounds)
    if not has_rows[0][0]:
        _create_month(cursor, table, month, name=name)
        return
    cursor.execute(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    cursor.execute(f"ALTER TABLE {default} DISABLE TRIGGER USER")
    cursor.execute(
        f"WITH moved AS (DELETE FROM {default} WHERE {KEY} >= %s AND {KEY} < %s RETURNING *) "
        f"INSERT INTO {name} SELECT * FROM moved",
        bounds,
    )
    cursor.execute(f"ALTER TABLE {default} ENABLE TRIGGER USER")
    cursor.execute(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)", bounds)
