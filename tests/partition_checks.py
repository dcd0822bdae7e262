"""Catalog and plan helpers shared by the partition tests of projects and ledger (issue 24)."""

import json

from django.db import connection
from django.test.utils import CaptureQueriesContext


def partitions(table: str) -> dict[str, str]:
    """Partition name -> its bound (`FOR VALUES FROM ('2026-03-01') TO ('2026-04-01')` or `DEFAULT`)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c "
            "ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
            [table],
        )
        return dict(cursor.fetchall())


def primary_key(table: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
                       "AND contype = 'p'", [table])  # fmt: skip
        return cursor.fetchone()[0]


def partition_of(table: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def _relations(plan) -> set[str]:
    found = set()
    if isinstance(plan, dict):
        if "Relation Name" in plan:
            found.add(plan["Relation Name"])
        for value in plan.values():
            found |= _relations(value)
    elif isinstance(plan, list):
        for value in plan:
            found |= _relations(value)
    return found


def partitions_read(table: str, run) -> set[str]:
    """The partitions of `table` that the plans (`EXPLAIN (FORMAT JSON)`) of the queries `run()` sends read."""
    with CaptureQueriesContext(connection) as queries:
        run()
    read: set[str] = set()
    statements = [q["sql"] for q in queries.captured_queries if table in q["sql"]]
    assert statements, f"no query read {table}"
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0]
            plan = json.loads(plan) if isinstance(plan, str) else plan
            read |= {name for name in _relations(plan) if name.startswith(f"{table}_p")}
    return read
