"""Gapless number series: journal entries now, invoices and credit notes later.

A number is `<SERIES>-<YEAR>-<NNNNNN>` (e.g. `JE-2026-000042`), counted per series and calendar year of the
document date. `number_next` must run inside the caller's transaction (the one that posts or issues the
document): it bumps the counter row with one `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`, which holds the
row lock until commit. Concurrent callers therefore wait for each other, numbers are handed out in commit
order (chronological per series), and a rollback returns the number, so a series never has gaps or
duplicates. Numbers are never given to drafts: call this at the moment a document becomes final.
"""

from datetime import date

from django.db import connection, transaction

from psa.core.models import NumberSeries

WIDTH = 6


def number_format(*, series: str, year: int, value: int) -> str:
    return f"{series}-{year}-{value:0{WIDTH}d}"


def number_next(*, series: str, on: date) -> str:
    """The next number of `series` for the year of `on`, assigned in the caller's transaction."""
    if not series or len(series) > 20 or not series.replace("_", "").isalnum():
        raise ValueError(f"invalid series name: {series!r}")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("number_next must run inside the transaction that makes the document final")
    table = NumberSeries._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (series, year, last) VALUES (%s, %s, 1) "
            f"ON CONFLICT (series, year) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [series, on.year],
        )
        (value,) = cursor.fetchone()
    return number_format(series=series, year=on.year, value=value)


def number_peek(*, series: str, year: int) -> int:
    """The last number handed out in a series and year (0 when none); for display and checks only."""
    row = NumberSeries.objects.filter(series=series, year=year).values_list("last", flat=True).first()
    return row or 0
