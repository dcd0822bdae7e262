"""Before/after timing of the pages that read the approved-time summary, on `time_load(size, n)` approved
entries in the database DATABASE_URL names (it truncates the time entries there: use a scratch database).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/psa_scratch .venv/bin/python manage.py shell \
        -c "from tests.benchmarks.time_summary_timing import main; main('S', 100_000)"

"Entries" runs each page's figures from the entries (the summary cleared); "summary" after one refresh.
Prints the median of five runs of the dashboard's figures and the exception scan, and EXPLAIN ANALYZE of the
unbilled-age KPI both ways.
"""

import statistics
import time
from datetime import date

from django.db import connection
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum

from billing.choices import SourceKind
from billing.models import SourceLink, TimeSummary, TimeSummaryRefresh
from billing.services.time_summary import time_summary_refresh
from projects.models import TimeEntry
from psa.web.dashboard import executive_dashboard
from psa.web.exception_queue import exception_scan
from tests.benchmarks.gen_time import time_load

VALUE = DecimalField(max_digits=24, decimal_places=6)
START, END, AS_OF = date(2026, 1, 1), date(2026, 12, 31), date(2026, 11, 30)


def _median_ms(fn, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return round(statistics.median(times), 1)


def _explain(qs) -> str:
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        return "\n".join(r[0] for r in cursor.fetchall())


def main(size: str = "S", n: int = 100_000) -> None:
    t = time.perf_counter()
    loaded = time_load(size, n)
    print(f"loaded {loaded} approved entries in {time.perf_counter() - t:.1f} s")
    TimeSummaryRefresh.objects.all().delete()
    TimeSummary.objects.all().delete()
    before = {
        "dashboard": _median_ms(lambda: executive_dashboard(start=START, end=END)),
        "exception_scan": _median_ms(lambda: exception_scan(as_of=AS_OF)),
    }
    t = time.perf_counter()
    full = time_summary_refresh()
    full_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()
    time_summary_refresh()
    incremental_ms = (time.perf_counter() - t) * 1000
    print(f"full refresh: {full.months} months, {full.rows} summary rows, {full_ms:.0f} ms; next refresh "
          f"(nothing changed since) {incremental_ms:.0f} ms")  # fmt: skip
    assert exception_scan(as_of=AS_OF).summary.current  # nothing changed since: the pages read the summary
    after = {
        "dashboard": _median_ms(lambda: executive_dashboard(start=START, end=END)),
        "exception_scan": _median_ms(lambda: exception_scan(as_of=AS_OF)),
    }
    for k in before:
        print(f"{k}: {before[k]} ms from the entries, {after[k]} ms from the summary (median of 5)")
    billed = SourceLink.objects.filter(kind=SourceKind.TIME_ENTRY, released_at__isnull=True).values("source_id")
    value = ExpressionWrapper(F("hours") * F("bill_rate"), output_field=VALUE)
    direct = (
        TimeEntry.objects.filter(status="approved", billable=True, date__lte=END)
        .exclude(pk__in=billed)
        .values("billable")
        .annotate(n=Count("id"), b=Sum(value, filter=Q(date__gte=date(2026, 12, 1))))
    )
    summary = (
        TimeSummary.objects.filter(billable=True, billed=False, date__lte=END)
        .values("billable")
        .annotate(n=Sum("entries"), b=Sum("value", filter=Q(date__gte=date(2026, 12, 1))))
    )
    print("EXPLAIN unbilled age from the entries:\n" + _explain(direct))
    print("EXPLAIN unbilled age from the summary:\n" + _explain(summary))
