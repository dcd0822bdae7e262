"""utilization_report: approved hours (billable / non-billable) against capacity per consultant
(projects.selectors.utilization, the query behind the utilization page and API) against one hand-written
SQL aggregate on the same entries. One million approved entries at M; at S 100,000 (said in the notes);
tiny 5,000. Goal 1.5."""

from datetime import date

from django.db import connection

from projects.selectors import utilization
from tests.benchmarks.gen_time import END, START, time_load, time_truncate
from tests.benchmarks.harness import Record, paired

ENTRIES = {"tiny": 5_000, "S": 100_000, "M": 1_000_000}
RAW = """
SELECT consultant_id,
       COALESCE(SUM(hours) FILTER (WHERE billable), 0),
       COALESCE(SUM(hours) FILTER (WHERE NOT billable), 0)
FROM projects_timeentry
WHERE status = 'approved' AND date BETWEEN %s AND %s
GROUP BY consultant_id ORDER BY consultant_id
"""


def raw_report(start: date, end: date):
    with connection.cursor() as cursor:
        cursor.execute(RAW, [start, end])
        return cursor.fetchall()


def run(size: str) -> list[Record]:
    n = time_load(size, ENTRIES[size])

    def ours():
        return utilization(start=START, end=END, by="consultant")

    rows = ours()
    mine = {int(r.key): (r.billable, r.non_billable) for r in rows if r.billable or r.non_billable}
    assert mine == {c: (b, nb) for c, b, nb in raw_report(START, END)}, "ours and the baseline must agree"
    timing = paired(ours, lambda: raw_report(START, END), repeat=5)
    time_truncate()
    note = f"{n} approved entries" + (" (size S uses 100,000 instead of 1,000,000)" if size == "S" else "")
    return [
        Record(
            name="utilization_report",
            size=size,
            ours_s=timing.ours_s,
            baseline_s=timing.baseline_s,
            goal_ratio=1.3,
            queries=timing.queries,
            round_ratios=timing.round_ratios,
            notes=note + "; per consultant, capacity less time off, targets",
        )
    ]
