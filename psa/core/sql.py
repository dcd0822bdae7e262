"""Set-based writes on PostgreSQL: rows as named tuples whose fields are the table's columns, sent as one array
per column (`unnest`), so a statement has one parameter per column whatever the number of rows and no model
instance is built per row."""

from datetime import date
from decimal import Decimal
from typing import NamedTuple

# The PostgreSQL array type of each column type a row may carry.
PG_TYPES = {
    int: "bigint", str: "text", Decimal: "numeric", date: "date",
    int | None: "bigint", date | None: "date",
}  # fmt: skip


def unnest(row_type: type[NamedTuple], rows: list, params: list) -> str:
    """`unnest(%s::type[], ...) AS u(col, ...)` over the row type's fields, appending one array per column to
    `params`."""
    columns = row_type._fields
    for i in range(len(columns)):
        params.append([row[i] for row in rows])
    arrays = ", ".join(f"%s::{PG_TYPES[row_type.__annotations__[c]]}[]" for c in columns)
    return f"unnest({arrays}) AS u({', '.join(columns)})"
