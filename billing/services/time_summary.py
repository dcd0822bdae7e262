"""Keep billing.models.TimeSummary current: approved time by day, project, contract line, billable flag and
billed status (see the model's docstring for why the grain is a day).

`time_summary_refresh` is set-based: one DELETE and one INSERT ... SELECT for the months it recomputes, in one
transaction under an advisory lock, so two refreshes at once run one after the other and the second finds
nothing left to do. It recomputes:
- every month with approved time on the first refresh (or `full=True`);
- after that, the months of the entries whose `updated_at` moved since the last refresh started (approval,
  hours edits, rejection, a cost-rate correction, imports; entries never change day, so a month is never left
  holding an entry that moved away), the months of time billed (source links newer than the newest link at
  least MARGIN before, see TimeSummaryRefresh) and of time released by a credit note or a discarded draft. The
  look-back starts MARGIN before the last refresh, so a write whose transaction was still open during it is
  caught by the next one.
It is run every two minutes by the beat (billing.tasks.time_summary_refresh_task, queue "revenue") and at the end
of `seed_demo`. Pages read it through billing.selectors.time_summary.summary_state, which says when it is behind.
On the SQLite demo database (no advisory locks, no arrays) it builds nothing, and the pages compute from the
entries and say the summary has not been built.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from billing.choices import SourceKind
from billing.models import SourceLink, TimeSummary, TimeSummaryRefresh
from projects.choices import EntryStatus
from projects.models import TimeEntry

LOCK_KEY = 7_021_024  # pg_advisory_xact_lock key: one refresh at a time
MARGIN = timedelta(minutes=10)


@dataclass(frozen=True)
class RefreshResult:
    as_of: datetime
    months: int
    rows: int


def _tables() -> dict[str, str]:
    return {
        "summary": TimeSummary._meta.db_table,
        "entry": TimeEntry._meta.db_table,
        "link": SourceLink._meta.db_table,
    }


_DIRTY_MONTHS = """
SELECT DISTINCT date_trunc('month', e.date)::date FROM {entry} e WHERE e.updated_at >= %(since)s
UNION
SELECT date_trunc('month', e.date)::date FROM {link} l JOIN {entry} e ON e.id = l.source_id
 WHERE l.kind = %(kind)s AND (l.id > %(link_id)s OR l.released_at >= %(since)s)
"""

_ALL_MONTHS = "SELECT DISTINCT date_trunc('month', e.date)::date FROM {entry} e WHERE e.status = %(approved)s"

# The billed flag: an unreleased time-entry source link (at most one per entry: billing_source_billed_once).
_INSERT = """
INSERT INTO {summary} (month, date, project_id, contract_line_id, billable, billed, entries, hours, value, cost)
SELECT m.month, e.date, e.project_id, e.contract_line_id, e.billable, l.id IS NOT NULL,
       count(*), sum(e.hours), sum(e.hours * e.bill_rate), coalesce(sum(e.hours * e.cost_rate), 0)
  FROM unnest(%(months)s::date[]) AS m(month)
  JOIN {entry} e ON e.date >= m.month AND e.date < (m.month + interval '1 month')::date
  LEFT JOIN {link} l ON l.kind = %(kind)s AND l.source_id = e.id AND l.released_at IS NULL
 WHERE e.status = %(approved)s
 GROUP BY m.month, e.date, e.project_id, e.contract_line_id, e.billable, l.id IS NOT NULL
"""


def time_summary_refresh(*, full: bool = False) -> RefreshResult:
    """Recompute the months touched since the last refresh (all of them the first time or with `full`) and
    record the refresh's as-of time. Idempotent; concurrent calls serialise on an advisory lock."""
    if connection.vendor != "postgresql":
        return RefreshResult(as_of=timezone.now(), months=0, rows=0)
    t = _tables()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        as_of = timezone.now()  # after the lock: the snapshot below sees every commit before this
        state = TimeSummaryRefresh.objects.filter(pk=1).first()
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {t['link']}")
        link_id = cursor.fetchone()[0]
        if state is None or full:
            cursor.execute(_ALL_MONTHS.format(**t), {"approved": EntryStatus.APPROVED})
            months = sorted(r[0] for r in cursor.fetchall())
            cursor.execute(f"DELETE FROM {t['summary']}")
        else:
            cursor.execute(
                _DIRTY_MONTHS.format(**t),
                {"since": state.as_of - MARGIN, "kind": SourceKind.TIME_ENTRY, "link_id": state.margin_link_id},
            )
            months = sorted(r[0] for r in cursor.fetchall())
            if months:
                cursor.execute(f"DELETE FROM {t['summary']} WHERE month = ANY(%s::date[])", [months])
        rows = 0
        if months:
            cursor.execute(
                _INSERT.format(**t),
                {"months": months, "kind": SourceKind.TIME_ENTRY, "approved": EntryStatus.APPROVED},
            )
            rows = cursor.rowcount
        if state is None or full:
            marks = {"margin_link_id": link_id, "pending_link_id": link_id, "pending_since": as_of}
        elif state.pending_since is None or state.pending_since <= as_of - MARGIN:
            marks = {"margin_link_id": state.pending_link_id, "pending_link_id": link_id, "pending_since": as_of}
        else:
            marks = {}
        TimeSummaryRefresh.objects.update_or_create(
            pk=1,
            defaults={
                "as_of": as_of,
                "finished_at": timezone.now(),
                "last_link_id": link_id,
                "months": len(months),
                **marks,
            },
        )
    return RefreshResult(as_of=as_of, months=len(months), rows=rows)
