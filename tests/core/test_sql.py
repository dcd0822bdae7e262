"""psa.core.sql.unnest sends each column as one array literal: every value comes back from PostgreSQL as it was
sent, whatever characters a text holds. prepared_execute plans a statement once and puts the session back as it
was."""

from datetime import date, datetime
from decimal import Decimal
from enum import IntEnum
from typing import NamedTuple
from unittest import mock

import pghistory
import pytest
from django.db import DataError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils.safestring import mark_safe

import psa.core.sql
from psa.core.sql import prepared_execute, unnest

pytestmark = pytest.mark.django_db


class Row(NamedTuple):
    n: int
    amount: Decimal
    day: date | None
    text: str
    ref: int | None


class Step(IntEnum):
    FIRST = 1
    SECOND = 2


AWKWARD = ["plain", "", "NULL", "a,b", "{x}", 'say "hi"', "back\\slash", '\\"', " spaced ", "it's", "é ✓", "x\ny"]


def test_every_value_comes_back_as_it_was_sent():
    rows = [
        Row(i, Decimal("-12.34") * i, date(2026, 1, 1 + i) if i % 2 else None, text, i if i % 3 else None)
        for i, text in enumerate(AWKWARD)
    ] + [Row(99, 7, None, "an int in a numeric column", None)]  # type: ignore[arg-type]
    params: list = []
    source = unnest(Row, rows, params)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT n, amount, day, text, ref FROM {source}", params)
        back = [Row(*r) for r in cursor.fetchall()]
    assert back == rows


def test_a_value_of_another_type_is_refused():
    with pytest.raises(TypeError):
        unnest(Row, [Row(1, "1.5", None, "x", None)], [])  # type: ignore[arg-type]  # text in a number column
    with pytest.raises(TypeError):
        unnest(Row, [Row(True, Decimal(1), None, "x", None)], [])  # a bool is not a number


def test_a_datetime_in_a_date_column_is_refused():
    with pytest.raises(TypeError):
        unnest(Row, [Row(1, Decimal(1), datetime(2026, 1, 1, 12), "x", None)], [])  # type: ignore[arg-type]


def test_a_subclass_of_the_columns_type_goes_as_its_value():
    """Values of other exact types than the column's take the closer look: a str subclass (a template's safe
    string) or an int subclass is sent as its plain value."""
    rows = [Row(Step.SECOND, Decimal("1.50"), None, mark_safe('a "safe" text'), None)]
    params: list = []
    source = unnest(Row, rows, params)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT n, amount, day, text, ref FROM {source}", params)
        assert cursor.fetchall() == [(2, Decimal("1.50"), None, 'a "safe" text', None)]


def test_no_rows_make_empty_arrays():
    params: list = []
    source = unnest(Row, [], params)
    assert params == ["{}"] * len(Row._fields)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {source}", params)
        assert cursor.fetchone() == (0,)


def _plan_cache_mode(cursor) -> str:
    cursor.execute("SELECT current_setting('plan_cache_mode')")
    return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # to see the session after the transaction has ended
def test_a_prepared_statement_is_planned_once_and_the_setting_lasts_the_transaction_only():
    """prepared_execute runs its statement with a generic plan (never re-planned per call) and leaves the cursor on
    the statement's rows; the session's plan_cache_mode is as it was once the transaction ends."""
    sql = "SELECT %s::integer * 2, current_setting('plan_cache_mode') FROM generate_series(1, %s::integer)"
    with connection.cursor() as cursor:
        before = _plan_cache_mode(cursor)
        with transaction.atomic():
            for n in range(1, 8):
                assert prepared_execute(sql, [n, 1]) == [(2 * n, "force_generic_plan")]
        assert _plan_cache_mode(cursor) == before
        cursor.execute(
            "SELECT generic_plans, custom_plans, from_sql FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%current_setting('plan_cache_mode') FROM generate_series%"],
        )
        assert cursor.fetchone() == (7, 0, False)  # prepared by the protocol: each call sends its parameters only


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_cursor_serves_a_connections_prepared_statements_and_a_new_connection_gets_its_own():
    """The cursor is made once per driver connection and reused (its adapters stay looked up); once Django has
    opened a new driver connection, the next call makes a cursor on that one."""
    from django.db import connections

    from psa.core import sql as core_sql

    db = connections["default"]
    assert prepared_execute("SELECT %s::integer", [1]) == [(1,)]
    raw, cursor = core_sql._CURSORS[db]
    assert raw is db.connection
    assert prepared_execute("SELECT %s::text", ["a"]) == [("a",)]
    assert core_sql._CURSORS[db][1] is cursor and not cursor.closed
    db.close()
    assert prepared_execute("SELECT %s::integer", [2]) == [(2,)]
    new_raw, new_cursor = core_sql._CURSORS[db]
    assert new_raw is db.connection and new_raw is not raw and new_cursor is not cursor


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_prepared_statement_runs_again_after_rollbacks_made_psycopg_forget_it():
    """psycopg deallocates every prepared statement of the session after a rollback (ROLLBACK TO SAVEPOINT
    included) and prepares again on the next call; Django's own statements in between are never prepared."""
    sql = "SELECT %s::integer * 3"
    with transaction.atomic():
        assert prepared_execute(sql, [1]) == [(3,)]
        with pytest.raises(DataError), transaction.atomic():
            prepared_execute("SELECT 1 / %s::integer", [0])
        assert prepared_execute(sql, [2]) == [(6,)]
        with transaction.atomic():
            assert prepared_execute(sql, [3]) == [(9,)]
            transaction.set_rollback(True)
        with connection.cursor() as cursor:
            for _ in range(3):
                cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%count(*)%"])
                assert cursor.fetchone() == (0,)
        assert prepared_execute(sql, [4]) == [(12,)]
    assert prepared_execute(sql, [5]) == [(15,)]


@pytest.mark.postgres
def test_a_prepared_statement_returns_its_rows_inside_a_history_context():
    """pghistory's execute wrapper (active inside a context, e.g. every request) does not move the cursor off the
    statement's rows."""
    with pghistory.context(note="test"):
        assert prepared_execute("SELECT %s::integer + 1", [41]) == [(42,)]


@pytest.mark.postgres
def test_a_failed_prepared_statement_leaves_the_setting_as_it_was():
    with connection.cursor() as cursor, transaction.atomic():
        before = _plan_cache_mode(cursor)
        with pytest.raises(DataError), transaction.atomic():
            prepared_execute("SELECT 1 / %s::integer", [0])
        assert _plan_cache_mode(cursor) == before  # the savepoint's rollback took the setting back


def test_a_prepared_statement_needs_one_parameter_per_placeholder():
    with pytest.raises(ValueError):
        prepared_execute("SELECT %s::integer", [1, 2])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # real transactions, each ending
def test_the_setting_goes_with_the_transactions_first_execute_and_again_after_a_rollback_took_it_back():
    """The setting lasts the transaction, or up to the rollback of a savepoint made before it: it is sent with a
    transaction's first call, not with the next ones, and again once a rollback has taken it back."""
    sql = "SELECT %s::integer, current_setting('plan_cache_mode')"
    real = psa.core.sql._generic_send

    def sent(n: int) -> bool:
        calls: list[object] = []
        with (
            CaptureQueriesContext(connection) as queries,
            mock.patch("psa.core.sql._generic_send", side_effect=lambda raw: calls.append(real(raw))),
        ):
            assert prepared_execute(sql, [n]) == [(n, "force_generic_plan")]
        assert len(queries) == 1  # the setting rides with the statement: one round trip, one statement counted
        return bool(calls)

    with transaction.atomic():
        assert sent(1)
        assert not sent(2)
        with pytest.raises(RuntimeError), transaction.atomic():
            assert not sent(3)
            raise RuntimeError("a savepoint made after the setting rolls back: the setting stays")
        assert not sent(4)
    with transaction.atomic():
        assert sent(5)  # a new transaction
    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            assert sent(6)
            raise RuntimeError("the savepoint in which the setting was made rolls back")
        assert sent(7)
    assert sent(8) and sent(9)  # outside a transaction the setting lasts one round trip
