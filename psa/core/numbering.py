"""Gapless number series: journal entries now, invoices and credit notes later.

A number is `<SERIES>-<YEAR>-<NNNNNN>` (e.g. `JE-2026-000042`), counted per series and calendar year of the
document date. `number_next` must run inside the caller's transaction (the one that posts or issues the
document): it bumps the counter row with one `INSERT ... ON CONFLICT DO UPDATE ... RETURNING`, which holds the
row lock until commit. Concurrent callers therefore wait for each other, numbers are handed out in commit
order (chronological per series), and a rollback returns the number, so a series never has gaps or
duplicates. Numbers are never given to drafts: call this at the moment a document becomes final.

A caller that checks chronology (an issue date not before the last one) takes the number FIRST and checks
after: only then does it hold the series lock while it reads, so a concurrent document numbered before it is
committed and seen. A failed check raises, and the rollback returns the number. The lock is per series and
year; numbers carry the year, so chronology is per series-year.
"""

import functools
from datetime import date

from django.db import transaction

from psa.core.models import NumberSeries
from psa.core.sql import number_series_bump, number_series_bump_cte, number_series_bump_cte_from

WIDTH = 6


def number_format(*, series: str, year: int, value: int) -> str:
    return f"{series}-{year}-{value:0{WIDTH}d}"


def _check_series(series: str) -> None:
    if not series or len(series) > 20 or not series.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"invalid series name: {series!r}")


def number_next(*, series: str, on: date) -> str:
    """The next number of `series` for the year of `on`, assigned in the caller's transaction."""
    _check_series(series)
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("number_next must run inside the transaction that makes the document final")
    value = number_series_bump(series=series, year=on.year)
    return number_format(series=series, year=on.year, value=value)


def number_peek(*, series: str, year: int) -> int:
    """The last number handed out in a series and year (0 when none); for display and checks only."""
    row = NumberSeries.objects.filter(series=series, year=year).values_list("last", flat=True).first()
    return row or 0


def number_next_sql(*, series: str, on: date, when: str = "") -> tuple[str, str, list]:
    """`number_next` as SQL, for a caller that inserts its document in the same statement (PostgreSQL).

    Returns (cte, expression, params): put `cte` in the statement's WITH list, select `expression` (the formatted
    number) FROM `number_next`, and pass `params` first. Same counter row, same lock, same rollback rule; one
    round trip less per document for bulk posting. With `when` (the name of an earlier CTE), the counter moves
    only if that CTE returns a row, so a statement that inserts nothing takes no number.
    """
    _check_series(series)
    cte, params = number_series_bump_cte(series=series, year=on.year, when=when)
    expression = f"%s || lpad(number_next.last::text, greatest({WIDTH}, length(number_next.last::text)), '0')"
    return cte, expression, [*params, f"{series}-{on.year}-"]


def number_next_sql_from(*, series_column: str, on: date, when: str, at: str | None = None) -> tuple[str, str, list]:
    """`number_next_sql` for a series that the statement itself finds: `when` is an earlier CTE returning at most
    one row and `series_column` its column holding the series name (already checked when it was stored, e.g. a
    legal entity's series prefix). Returns (cte, expression, params) used the same way; the counter moves only if
    `when` returns a row. `at` is the counter row's address the last such statement returned (`number_next.ctid`,
    as text), a hint that saves looking the row up by key; with it the statement bumps only a counter that exists,
    and without it, it creates a missing one (psa.core.sql.number_series_bump_cte_from)."""
    cte, expression = _number_next_sql_from_text(series_column, when, at is not None)
    params = [at, on.year, on.year, on.year] if at is not None else [on.year]
    return cte, expression, [*params, f"-{on.year}-"]


@functools.cache
def _number_next_sql_from_text(series_column: str, when: str, at_known: bool) -> tuple[str, str]:
    """number_next_sql_from's statement text (the same for every year and address: built once per process)."""
    cte, params = number_series_bump_cte_from(series_column=series_column, year=0, when=when, at_known=at_known)
    if len(params) != (4 if at_known else 1):
        raise RuntimeError("number_next_sql_from passes the address and the year three times, or the year once")
    expression = (
        f"{when}.{series_column} || %s::text || "
        f"lpad(number_next.last::text, greatest({WIDTH}, length(number_next.last::text)), '0')"
    )
    return cte, expression
