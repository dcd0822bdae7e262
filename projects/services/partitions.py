"""Time entries' month partitions ahead of today (issue 24; psa/core/partitions.py has how they work)."""

from datetime import date

from django.db import connection, transaction

from psa.core.partitions import month_partitions_ensure

TABLE = "projects_timeentry"
MONTHS_AHEAD = 3


def time_partitions_ensure(*, today: date, ahead: int = MONTHS_AHEAD) -> list[str]:
    """Create this month's and the next `ahead` months' partitions of the time entries that are missing; safe to
    run any number of times. The names created; none on a database without partitions (SQLite)."""
    with transaction.atomic():
        return month_partitions_ensure(connection, TABLE, today=today, ahead=ahead)
