"""How long the monthly-partition migrations take per million rows (issue 24; README "Monthly partitions").

Loads `time_rows` generated time entries at `time_size` (tests/benchmarks/gen_time.py) and about `line_rows`
journal lines at `ledger_size` (gen_ledger.py: 20,000 lines a month at M, so 1,000,000 lines span 50 months) into
the database of DATABASE_URL (a development one: it truncates both tables), then times, for each table, the
conversion back to a plain table and the conversion to partitions (what projects migration 0016 and ledger
migration 0021 run), each in its own transaction:

    DJANGO_SETTINGS_MODULE=psa.settings .venv/bin/python -m tests.benchmarks.partition_timing S 1000000 M 1000000
"""

import sys
import time

import django

django.setup()

from django.db import connection, transaction  # noqa: E402  (after django.setup())
from django.utils import timezone  # noqa: E402

from psa.core.partitions import is_partitioned, partition_table, unpartition_table  # noqa: E402
from tests.benchmarks.gen_ledger import ledger_load  # noqa: E402
from tests.benchmarks.gen_time import time_load  # noqa: E402

WIDEN = {"projects_timeentry": set(), "ledger_journalline": {"ledger_line_entry_line_no_unique"}}


def _timed(step, table: str) -> float:
    started = time.perf_counter()
    with transaction.atomic():
        step(table)
    return time.perf_counter() - started


def main(time_size: str, time_rows: int, ledger_size: str, line_rows: int) -> None:
    time_load(time_size, time_rows)
    ledger_load(ledger_size, line_rows, close=False)
    for table, widen in WIDEN.items():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")
            rows = cursor.fetchone()[0]
        if is_partitioned(connection, table):
            back = _timed(lambda t, w=widen: unpartition_table(connection, t, narrow=w), table)
        else:
            back = 0.0
        forth = _timed(
            lambda t, w=widen: partition_table(connection, t, today=timezone.localdate(), ahead=3, widen=w), table
        )
        per_million = 1_000_000 / rows
        print(f"{table}: {rows} rows; to partitions {forth:.1f} s ({forth * per_million:.1f} s per million rows); "
              f"back to a plain table {back:.1f} s ({back * per_million:.1f} s per million rows)")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
