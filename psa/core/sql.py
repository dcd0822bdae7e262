"""The kernel's hand-written SQL, in one place, through Django's public APIs (`connection.cursor()`,
`connection.ops.quote_name`, `Model._meta.db_table`): statements the ORM cannot say in one round trip.
`prepared_execute` alone goes below them, to psycopg's prepared statements, still through Django's cursor wrapper.

- `unnest`: set-based writes on PostgreSQL: rows as named tuples whose fields are the table's columns, sent as
  one array per column, so a statement has one parameter per column whatever the number of rows and no model
  instance is built per row.
- `number_series_bump` / `number_series_bump_cte`: the gapless counter's one upsert (psa/core/numbering.py
  holds the rules around it).
- `exchange_rates_upsert`: an ECB import's new and corrected rates in one statement (psa/core/rates.py).
- `database_ping`: the health checks' `SELECT 1`.
"""

import functools
import weakref
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple, cast

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper

from psa.core.models import ExchangeRate, NumberSeries

# The PostgreSQL array type of each column type a row may carry.
PG_TYPES = {
    int: "bigint", str: "text", Decimal: "numeric", date: "date",
    int | None: "bigint", date | None: "date",
}  # fmt: skip


# Each column goes as one array literal written here (`{1,2,NULL}`, `{"a","b \\"c\\""}`): one join costs far less
# than the driver dumping every element. Numbers and dates need no quoting (digits, sign, point, exponent, ISO
# date); text is double-quoted with backslash escapes, as PostgreSQL's array input reads it.
_LITERAL = {int: int, Decimal: Decimal, date: date, str: str, int | None: int, date | None: date}


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# The exact types each kind takes without a closer look (an int is a whole number in a numeric column; a bool,
# though an int, is not; a datetime, though a date, is not), NULL included.
_EXACT = {int: (int,), Decimal: (Decimal, int), date: (date,), str: (str,)}
_PLAIN = {kind: frozenset((*types, type(None))) for kind, types in _EXACT.items()}


def _array_check(values: Sequence, kind: type) -> None:
    """A value of another type than the column's is a TypeError (the closer look, for values of other exact types:
    a subclass of the kind passes, a bool or a datetime does not)."""
    exact = _EXACT[kind]
    for value in values:
        if (
            value is not None
            and type(value) not in exact
            and (
                isinstance(value, bool)
                or not isinstance(value, (Decimal, int) if kind is Decimal else kind)  # an int is a whole number
                or (kind is date and type(value) is not date)
            )
        ):
            raise TypeError(f"unnest: {value!r} in a column of {kind.__name__}")


_NONE = type(None)


def _array_literal(values: Sequence, kind: type) -> str:
    """The PostgreSQL text form of an array of `kind` (None is NULL); a value of another type is a TypeError."""
    types = set(map(type, values))
    if not _PLAIN[kind].issuperset(types):
        _array_check(values, kind)
    text = _quoted if kind is str else str
    # NULLs are found by type: `None in values` compared each value with None, and a Decimal compared with
    # another type asks the numbers ABCs first (a tenth of the posting's Python time).
    if _NONE in types:
        return "{" + ",".join(["NULL" if v is None else text(v) for v in values]) + "}"
    return "{" + ",".join(map(text, values)) + "}"


@functools.cache
def _unnest_shape(row_type: type[NamedTuple]) -> tuple[tuple[type, ...], str]:
    """The row type's column kinds and its `unnest(...) AS u(...)` text (the same on every call: made once)."""
    columns = row_type._fields
    kinds = tuple(_LITERAL[row_type.__annotations__[c]] for c in columns)
    arrays = ", ".join(f"%s::{PG_TYPES[row_type.__annotations__[c]]}[]" for c in columns)
    return kinds, f"unnest({arrays}) AS u({', '.join(columns)})"


def unnest(row_type: type[NamedTuple], rows: Sequence[NamedTuple], params: list) -> str:
    """`unnest(%s::type[], ...) AS u(col, ...)` over the row type's fields, appending one array per column to
    `params` as an array literal."""
    kinds, text = _unnest_shape(row_type)
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(kinds)
    params.extend([_array_literal(values, kind) for values, kind in zip(columns, kinds, strict=True)])
    return text


def _number_series_upsert(source: str) -> str:
    table = connection.ops.quote_name(NumberSeries._meta.db_table)
    return (
        f"INSERT INTO {table} (series, year, last) {source} "
        f"ON CONFLICT (series, year) DO UPDATE SET last = {table}.last + 1 RETURNING last"
    )


def number_series_bump(*, series: str, year: int) -> int:
    """Move the counter of `series` and `year` on by one (creating it at 1) and return its new value; the row
    stays locked until the caller's transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute(_number_series_upsert("VALUES (%s, %s, 1)"), [series, year])
        (value,) = cursor.fetchone()
    return value


def number_series_bump_cte(*, series: str, year: int, when: str = "") -> tuple[str, list]:
    """`number_series_bump` as a CTE named `number_next` (returning `last`) and its params; with `when` (the name
    of an earlier CTE) the counter moves only if that CTE returns a row."""
    source = f"SELECT %s, %s, 1 FROM {when} LIMIT 1" if when else "VALUES (%s, %s, 1)"
    return f"number_next AS ({_number_series_upsert(source)})", [series, year]


def number_series_bump_cte_from(*, series_column: str, year: int, when: str, at_known: bool) -> tuple[str, list]:
    """`number_series_bump_cte` for a series named by a column of the earlier CTE `when` (a statement that finds
    the series, e.g. from a legal entity's prefix, in the same round trip): the CTE `number_next` returns `last` and
    the counter row's new `ctid`, and the counter moves only if `when` returns a row. Two forms:

    - `at_known` False: the upsert by key, which creates the counter when the series has none for the year yet.
    - `at_known` True: the first parameter is where the caller last saw the counter's row (its `ctid` as text);
      one UPDATE bumps the row found there, or by key when the address does not hold it (another process bumped
      it since, a rolled-back bump, a new database). It bumps only a counter that exists: a missing one returns
      no row (the caller then uses the upsert).

    Why: a job posting thousands of entries in one transaction bumps the same counter row each time, and each
    bump leaves a row version only the transaction's end can clear. Found by its key, the row is found by walking
    every version left so far (through the unique index and each page's chain), so each bump cost more than the
    last: a fifth of the posting statement's time at 10,000 entries. Found at the address the last bump returned,
    the current version is read directly: PostgreSQL evaluates the second operand of COALESCE, the look-up by
    key, only when the first is NULL. The address is only a hint: the UPDATE still matches the series and year,
    sees only the version visible to it (a concurrent bump committed since is followed to its newest version, as
    for any UPDATE under READ COMMITTED) and takes the same row lock. The second form is one UPDATE, with no
    INSERT ... ON CONFLICT beside it, which PostgreSQL set up on every call though the counter exists on all but
    the first."""
    if not series_column.isidentifier() or not when.isidentifier():
        raise ValueError(f"invalid column or CTE name: {when}.{series_column}")
    table = connection.ops.quote_name(NumberSeries._meta.db_table)
    if not at_known:
        source = f"SELECT {when}.{series_column}, %s::integer, 1 FROM {when} LIMIT 1"
        return f"number_next AS ({_number_series_upsert(source)}, {table}.ctid)", [year]
    series = f"(SELECT {series_column} FROM {when} LIMIT 1)"
    cte = (
        f"number_next AS (UPDATE {table} n SET last = n.last + 1 WHERE n.ctid = COALESCE("
        f"(SELECT h.ctid FROM {table} h WHERE h.ctid = %s::tid AND h.series = {series} AND h.year = %s::integer), "
        f"(SELECT k.ctid FROM {table} k WHERE k.series = {series} AND k.year = %s::integer)) "
        f"AND n.series = {series} AND n.year = %s::integer RETURNING n.last, n.ctid)"
    )
    return cte, [None, year, year, year]


# A statement's text -> its number of parameters (counted once per process, not on every call of a statement run
# thousands of times per job).
_PLACEHOLDERS: dict[str, int] = {}
_GENERIC = "SELECT set_config('plan_cache_mode', 'force_generic_plan', true)"
# Django's connection (one per thread and alias) -> its driver connection and the cursor for prepared statements made
# on it, reused until Django opens a new driver connection: a new cursor per call starts with an empty cache of the
# driver's adapters (it looked each parameter's up again: a fifth of the call's time in Python for the posting
# statement's thirty parameters). Keyed by Django's connection, not the driver's, which the cursor refers to.
_CURSORS: "weakref.WeakKeyDictionary[BaseDatabaseWrapper, tuple[object, _PreparedCursor]]" = weakref.WeakKeyDictionary()
# Raw connection -> the marker of the transaction in which the setting was made (see _generic_set).
_GENERIC_IN: "weakref.WeakKeyDictionary[object, Callable[[], None]]" = weakref.WeakKeyDictionary()


class _PreparedCursor(psycopg.Cursor):
    """A psycopg cursor with server-side binding whose every statement runs as a prepared statement of the
    protocol: parsed and planned once per session (psycopg keeps the name per connection), then each call sends
    only its parameters (Bind/Execute), with no literal quoting here and no parsing of an EXECUTE command there.

    `name`: pghistory's execute wrapper steps aside for a cursor with a name (it would put its own SELECT before
    the statement, and a prepared statement is one statement). Its context is a transaction-local setting, so a
    statement here still carries the context an earlier statement of the transaction set; it is meant for
    statements that write no history-tracked table (the journal's), where no context is needed."""

    name = "psa_prepared"

    def execute(self, query, params=None, *, prepare=None, binary=None):
        return super().execute(query, params, prepare=True, binary=binary)


def _generic_set(db: BaseDatabaseWrapper) -> bool:
    """Whether this transaction has set `force_generic_plan` already (then the statement goes alone). The setting
    is made with `set_config(..., true)`: it ends with the transaction, and with a savepoint rolled back after it.
    Django's list of callbacks to run on commit ends the same way (emptied at commit and at rollback, a savepoint's
    own taken out when it rolls back), so a marker callback put there with the setting is still in the list
    exactly as long as the setting lasts. Outside a transaction the setting lasts one round trip: always sent."""
    if not db.in_atomic_block:
        return False
    marker = _GENERIC_IN.get(db.connection)
    return marker is not None and any(callback[1] is marker for callback in db.run_on_commit)


def _generic_mark(db: BaseDatabaseWrapper) -> None:
    if db.in_atomic_block:

        def marker() -> None:  # the callback runs at commit, when the setting ends: nothing to do
            return None

        db.on_commit(marker)
        _GENERIC_IN[db.connection] = marker


def _generic_send(raw: psycopg.Connection) -> None:
    """Queue the setting in the open pipeline (its own function, so a test can see when it is sent)."""
    raw.execute(_GENERIC)


def prepared_execute(sql: str, params: Sequence, *, using: str = DEFAULT_DB_ALIAS) -> list[tuple]:
    """Run `sql` (with %s placeholders, each carrying a cast such as `%s::date`) as a prepared statement of
    PostgreSQL's protocol and return its rows. For a large statement run thousands of times per job, where
    planning it would cost more than running it: the session parses and plans it once, each call sends only its
    parameters (psycopg's prepared statements, through a server-side binding cursor: no literals are quoted in
    Python nor parsed by the server). The statement goes through Django's cursor wrapper, so execute wrappers and
    the query log see it; pghistory's context is not attached (see _PreparedCursor). psycopg keeps the prepared
    statements per connection (at most 100, the oldest deallocated) and prepares again after a rollback.

    Left to itself (plan_cache_mode `auto`) PostgreSQL plans such a statement again on every call whenever the
    generic plan's estimate looks dearer than the plans made for the values (the posting statement's did, about
    twice: its line arrays count as 10 rows), and planning was then half the statement's time. So the statement
    runs with `force_generic_plan`, set for the rest of the transaction (`set_config(..., true)`) by the
    transaction's first call only, in the same round trip (a psycopg pipeline: the setting, then the statement);
    outside a transaction the round trip is a transaction of its own, so the setting goes with every call. The
    setting only concerns plans the server keeps: prepared statements like this one and the queries of PL/pgSQL
    functions and triggers (simple look-ups by key, whose generic plan is what PostgreSQL settles on anyway);
    Django's own queries are planned afresh each time whatever it says."""
    placeholders = _PLACEHOLDERS.get(sql)
    if placeholders is None:
        placeholders = _PLACEHOLDERS[sql] = sql.count("%s")
    if placeholders != len(params):
        raise ValueError("prepared_execute: one %s per parameter")
    db = connections[using]
    db.ensure_connection()
    db.validate_thread_sharing()
    raw = db.connection
    if raw.prepare_threshold is None:
        # Django turns psycopg's prepared statements off (threshold None); a threshold no statement reaches turns
        # them on for the cursor that asks (prepare=True) and leaves every other statement unprepared.
        raw.prepare_threshold = 2**31 - 1
    held = _CURSORS.get(db)
    if held is not None and held[0] is raw:
        cursor = held[1]
    else:
        cursor = _PreparedCursor(raw)
        _CURSORS[db] = (raw, cursor)
    # Django wraps a driver's cursor (its stubs say a wrapper); the wrapper is not closed: the cursor is reused.
    wrapped = db.make_debug_cursor(cast(Any, cursor)) if db.queries_logged else db.make_cursor(cast(Any, cursor))
    if _generic_set(db):
        wrapped.execute(sql, params)
    else:
        with db.wrap_database_errors, raw.pipeline():
            _generic_send(raw)
            wrapped.execute(sql, params)
        _generic_mark(db)
    return wrapped.fetchall()


class RateRow(NamedTuple):
    currency: str
    date: date
    rate: Decimal


def exchange_rates_upsert(
    *, rows: Sequence[RateRow], quote: str, source: str, by_id: int | None, now: datetime
) -> tuple[int, int]:
    """Write rates into `quote` in one INSERT ... ON CONFLICT (currency, quote, date) DO UPDATE: a new date is
    inserted, a held date with a different rate is corrected (rate, source, who, when), a held date with the same
    rate is left alone (not written, so its history gets no row). Returns (inserted, corrected) as the database
    counted them. The history triggers still fire per row written.

    It first sets `pgtrigger.ignore` to the empty list ("ignore no trigger", what an unset value
    means) for the transaction: each history trigger reads that setting inside an exception block, and while it
    is unset the read raises; every caught error rolls back a subtransaction, which walks the transaction's whole
    list of pending after-trigger events (here one deferred foreign-key check per row written). Per row that is
    quadratic: 130,000 rates took 86 s with it unset and 3.6 s set."""
    if not rows:
        return 0, 0
    table = connection.ops.quote_name(ExchangeRate._meta.db_table)
    params: list = [quote, source, by_id, now]
    values = unnest(RateRow, rows, params)
    with connection.cursor() as cursor:
        # Its own statement: the history context (pghistory) is not attached to statements starting with SELECT.
        cursor.execute("SET LOCAL pgtrigger.ignore = '{}'")
        cursor.execute(
            f"WITH written AS (INSERT INTO {table} (currency, quote, date, rate, source, created_by_id, updated_at) "
            f"SELECT u.currency, %s, u.date, u.rate, %s, %s::bigint, %s::timestamptz FROM {values} "
            "ON CONFLICT (currency, quote, date) DO UPDATE SET rate = EXCLUDED.rate, source = EXCLUDED.source, "
            "created_by_id = EXCLUDED.created_by_id, updated_at = EXCLUDED.updated_at "
            f"WHERE {table}.rate <> EXCLUDED.rate "
            "RETURNING xmax = 0 AS inserted) "
            "SELECT COUNT(*) FILTER (WHERE inserted), COUNT(*) FILTER (WHERE NOT inserted) FROM written",
            params,
        )
        inserted, corrected = cursor.fetchone()
    return inserted, corrected


def database_ping() -> None:
    """Ask the database for one row; raises when it does not answer."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
