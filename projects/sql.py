"""projects' hand-written SQL, in one place and through public Django APIs only (`connection.cursor()`,
`connection.ops.quote_name`, the model `_meta` API). Each statement writes what an ORM path would write;
the service that calls it chooses when (projects.services.time)."""

from django.db import connection

from projects.choices import EntryStatus
from projects.models import TimeEntry

# The columns a new draft entry sets; every other column keeps its database default (NULL or false).
TIME_ENTRY_COPY_COLUMNS = (
    "consultant_id", "project_id", "task_id", "date", "hours", "note", "status", "rejection_reason", "billable",
    "source_key", "created_at", "updated_at",
)  # fmt: skip


def time_entries_copy(rows: list[TimeEntry]) -> None:
    """Stream validated draft entries into the time-entry table with PostgreSQL's COPY, inside the caller's
    transaction (a unique violation still rolls the whole import back). The same rows `bulk_create` would
    write, without the per-row parameter binding."""
    quote = connection.ops.quote_name
    table = quote(TimeEntry._meta.db_table)
    columns = ", ".join(quote(c) for c in TIME_ENTRY_COPY_COLUMNS)
    # Django's cursor passes `copy` through to the psycopg cursor it wraps.
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for r in rows:
            copy.write_row(
                (r.consultant_id, r.project_id, r.task_id, r.date, r.hours, r.note, EntryStatus.DRAFT, "", False,
                 r.source_key, r.created_at, r.updated_at)
            )  # fmt: skip
