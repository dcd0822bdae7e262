"""Reads of the approved-time summary (billing.models.TimeSummary) for the dashboard and the exception queue.

A page first asks `summary_state()`: the last refresh's as-of time and whether the summary holds every
approved entry and billing link the page can see. When it is not current (never refreshed, or an approval, a
cost-rate correction, a billed or released entry newer than the last refresh) the page computes its figures from
the entries as before, so a figure is never older than the page; the beat refreshes within two minutes and the
page reads the summary again. Read-only, so it works on the replica: it checks the data on the connection it reads from.

Each function below gives exactly what the entry aggregation it replaces gives (tests/billing/test_time_summary.py
compares them to the cent): sums of hours x snapshot rates, entry counts and oldest dates.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Min, Q, Sum
from django.db.models.functions import Coalesce

from billing.choices import SourceKind
from billing.models import SourceLink, TimeSummary, TimeSummaryRefresh
from projects.choices import EntryStatus
from projects.models import TimeEntry
from psa.core.money import ZERO
from psa.core.replica import read_connection

_BEHIND = """
SELECT r.as_of,
       EXISTS (SELECT 1 FROM {entry} e WHERE e.updated_at > r.as_of AND e.status = %(approved)s)
    OR EXISTS (SELECT 1 FROM {link} l WHERE l.id > r.last_link_id AND l.kind = %(kind)s)
    OR EXISTS (SELECT 1 FROM {link} l WHERE l.released_at > r.as_of AND l.kind = %(kind)s)
  FROM {refresh} r
"""


@dataclass(frozen=True)
class SummaryState:
    as_of: datetime  # the last refresh
    current: bool  # nothing approved, re-rated, billed or released after it that this reader can see


def summary_state() -> SummaryState | None:
    """The last refresh and whether the summary is current for this reader; None when never refreshed. One
    query (indexed lookups on time_entry.updated_at, the link ids and the link release times)."""
    sql = _BEHIND.format(
        entry=TimeEntry._meta.db_table, link=SourceLink._meta.db_table, refresh=TimeSummaryRefresh._meta.db_table
    )
    with read_connection(TimeSummary).cursor() as cursor:
        cursor.execute(sql, {"approved": EntryStatus.APPROVED, "kind": SourceKind.TIME_ENTRY})
        row = cursor.fetchone()
    return None if row is None else SummaryState(as_of=row[0], current=not row[1])


def current_summary() -> SummaryState | None:
    """The state when the summary may be read (refreshed and current), else None."""
    state = summary_state()
    return state if state is not None and state.current else None


def hours_by_month(*, start: date, end: date) -> dict[date, tuple[Decimal, Decimal]]:
    """{month: (billable hours, non-billable hours)} approved in start..end (projects' utilization_actuals)."""
    rows = (
        TimeSummary.objects.filter(date__gte=start, date__lte=end)
        .values("month")
        .annotate(b=Sum("hours", filter=Q(billable=True)), n=Sum("hours", filter=Q(billable=False)))
        .values_list("month", "b", "n")
        .order_by()
    )
    return {m: (b or ZERO, n or ZERO) for m, b, n in rows}


def unbilled_age(*, end: date, buckets: dict[str, tuple[date, date]]) -> dict[str, Any]:
    """Approved billable unbilled time dated on or before `end`: the entry count `n` and the value (hours x
    bill rate) dated in each bucket's (first, last) as `b0`, `b1`... in bucket order. One query."""
    return TimeSummary.objects.filter(billable=True, billed=False, date__lte=end).aggregate(
        n=Coalesce(Sum("entries"), 0),
        **{f"b{i}": Sum("value", filter=Q(date__gte=a, date__lte=b)) for i, (a, b) in enumerate(buckets.values())},
    )


def unbilled_by_project(*, before: date) -> list[Any]:  # rows of values()
    """Per project: approved billable unbilled time dated on or before `before`, oldest first: `n` entries,
    `total_hours`, `value`, `oldest` and the project's currency."""
    return list(
        TimeSummary.objects.filter(billable=True, billed=False, date__lte=before)
        .values("project_id", "project__currency")
        .annotate(n=Sum("entries"), total_hours=Sum("hours"), value=Sum("value"), oldest=Min("date"))
        .order_by("oldest", "project_id")
    )


def line_values(
    *, line_ids: list[int], billed: bool | None = None, first: date | None = None, last: date | None = None
) -> dict[int, Decimal]:
    """{contract line: Σ approved billable hours x bill rate}, optionally only unbilled (billed=False) or dated
    first..last."""
    qs = TimeSummary.objects.filter(contract_line_id__in=line_ids, billable=True)
    if billed is not None:
        qs = qs.filter(billed=billed)
    if first is not None:
        qs = qs.filter(date__gte=first)
    if last is not None:
        qs = qs.filter(date__lte=last)
    return dict(qs.values("contract_line_id").annotate(s=Sum("value")).values_list("contract_line_id", "s").order_by())


def project_actuals(*, project_ids: list[int]) -> dict[int, Any]:  # rows of values()
    """{project: {"h": approved hours, "c": Σ hours x snapshot cost rate}} over all time."""
    return {
        r["project_id"]: r
        for r in TimeSummary.objects.filter(project_id__in=project_ids)
        .values("project_id")
        .annotate(h=Sum("hours"), c=Sum("cost"))
        .order_by()
    }
