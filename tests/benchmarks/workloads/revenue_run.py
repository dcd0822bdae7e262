"""revenue_run: the monthly recognition run for 2,000 contract lines (T&M, fixed fee by hours, milestones,
retainers; ~12 approved time entries per T&M and fixed-fee line) against a hand-written raw-SQL baseline that
computes the same amounts (one statement with the same rules), reads the contract positions, and writes the
same journal entry lines, recognition rows and schedule totals in one transaction.

Both start from the same state (journal and runs truncated, schedules zeroed) and must post the same total;
the record's query count is our run's (it grows with contract lines by chunks of 500 at most, never with time
entries: tests/ledger/test_recognition_rules.py counts it at two sizes)."""

from decimal import Decimal

from django.db import connection, transaction

from ledger.choices import SystemAccount
from ledger.models import Recognition
from ledger.services.accounts import account_code_for
from ledger.services.revenue import CHUNK, recognition_run
from tests.benchmarks.gen_revenue import ENTRIES_PER_LINE, revenue_load, revenue_reset
from tests.benchmarks.harness import Record, timed

TARGETS_SQL = """
WITH s AS (
  SELECT rs.id, rs.project_id, rs.client_id, rs.method, rs.price, rs.recognised, rs.contract_line_id,
         cl.cap, cl.hours AS sold
    FROM ledger_revenueschedule rs JOIN projects_contractline cl ON cl.id = rs.contract_line_id
   WHERE rs.start <= %(as_of)s),
tm AS (
  SELECT contract_line_id, SUM(v) AS v FROM (
    SELECT te.contract_line_id, ROUND(SUM(te.hours) * te.bill_rate, 2) AS v
      FROM projects_timeentry te JOIN s ON s.contract_line_id = te.contract_line_id AND s.method = 'as_delivered'
      JOIN projects_consultant c ON c.id = te.consultant_id
      LEFT JOIN projects_ratecardline rcl ON rcl.id = te.rate_card_line_id
     WHERE te.status = 'approved' AND te.billable AND te.date <= %(as_of)s
     GROUP BY te.contract_line_id, COALESCE(rcl.role_id, c.role_id), te.bill_rate) g
   GROUP BY 1),
ex AS (
  SELECT e.contract_line_id, SUM(e.rebill_amount) AS v
    FROM projects_expense e JOIN s ON s.contract_line_id = e.contract_line_id
   WHERE e.status = 'approved' AND e.billable AND e.rebill_amount > 0 AND e.date <= %(as_of)s
   GROUP BY 1),
ms AS (
  SELECT m.contract_line_id, SUM(m.amount) AS total,
         SUM(CASE WHEN m.status = 'accepted' AND m.accepted_at < %(next_day)s THEN m.amount ELSE 0 END) AS acc
    FROM projects_milestone m JOIN s ON s.contract_line_id = m.contract_line_id AND s.method = 'milestone'
   GROUP BY 1),
pl AS (
  SELECT p.schedule_id, SUM(p.amount) AS total,
         SUM(CASE WHEN p.month <= %(as_of)s THEN p.amount ELSE 0 END) AS to_date
    FROM ledger_revenuescheduleline p JOIN s ON s.id = p.schedule_id AND s.method = 'straight_line'
   GROUP BY 1),
act AS (
  SELECT te.project_id, SUM(te.hours) AS h
    FROM projects_timeentry te
    JOIN (SELECT DISTINCT project_id FROM s WHERE method = 'percent_hours') pp ON pp.project_id = te.project_id
    LEFT JOIN s line ON line.contract_line_id = te.contract_line_id
   WHERE te.status = 'approved' AND te.date <= %(as_of)s
     AND (te.contract_line_id IS NULL OR line.method = 'percent_hours')
   GROUP BY 1),
est AS (
  SELECT DISTINCT ON (project_id) project_id, etc_hours FROM ledger_projectestimate
   WHERE as_of <= %(as_of)s ORDER BY project_id, as_of DESC)
SELECT s.id, s.project_id, s.client_id, s.recognised,
  CASE s.method
    WHEN 'as_delivered' THEN LEAST(COALESCE(tm.v, 0) + COALESCE(ex.v, 0), COALESCE(s.cap, 9e15))
    WHEN 'milestone' THEN CASE WHEN ms.total = s.price THEN LEAST(ms.acc, s.price) + COALESCE(ex.v, 0) END
    WHEN 'straight_line' THEN CASE WHEN pl.total = s.price THEN pl.to_date + COALESCE(ex.v, 0) END
    WHEN 'percent_hours' THEN ROUND(s.price * LEAST(COALESCE(act.h, 0) / NULLIF(
      CASE WHEN est.project_id IS NOT NULL THEN COALESCE(act.h, 0) + est.etc_hours
           ELSE GREATEST(s.sold, COALESCE(act.h, 0)) END, 0), 1), 2) + COALESCE(ex.v, 0)
  END AS target
FROM s
LEFT JOIN tm ON tm.contract_line_id = s.contract_line_id
LEFT JOIN ex ON ex.contract_line_id = s.contract_line_id
LEFT JOIN ms ON ms.contract_line_id = s.contract_line_id
LEFT JOIN pl ON pl.schedule_id = s.id
LEFT JOIN act ON act.project_id = s.project_id
LEFT JOIN est ON est.project_id = s.project_id
ORDER BY s.project_id, s.id
"""

POSITIONS_SQL = """
SELECT l.project_id,
       COALESCE(SUM(CASE WHEN a.system_role = 'unbilled' THEN l.debit - l.credit END), 0),
       COALESCE(SUM(CASE WHEN a.system_role = 'deferred' THEN l.credit - l.debit END), 0)
  FROM ledger_journalline l JOIN ledger_ledgeraccount a ON a.id = l.account_id
 WHERE a.system_role IN ('unbilled', 'deferred') AND l.project_id = ANY(%s)
 GROUP BY 1
"""


def baseline_run(period) -> Decimal:
    """The same amounts in hand-written SQL, and the same rows written (one entry). Returns the net posted."""
    from datetime import timedelta

    codes = {
        "revenue": account_code_for(SystemAccount.SERVICES_REVENUE),
        "unbilled": account_code_for(SystemAccount.UNBILLED),
        "deferred": account_code_for(SystemAccount.DEFERRED),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT code, id FROM ledger_ledgeraccount WHERE code = ANY(%s)", [list(codes.values())])
        account_ids = dict(cursor.fetchall())
        cursor.execute(
            TARGETS_SQL,
            {"as_of": period.end, "next_day": period.end + timedelta(days=1)},
        )
        diffs = [
            (sid, pid, cid, target - rec) for sid, pid, cid, rec, target in cursor.fetchall() if target is not None
        ]
        diffs = [d for d in diffs if d[3]]
        projects = sorted({d[1] for d in diffs})
        cursor.execute(POSITIONS_SQL, [projects])
        positions = {p: (u, d) for p, u, d in cursor.fetchall()}
        cursor.execute(
            "INSERT INTO ledger_recognitionrun (period_id, status, total, processed, posted_lines, amount, errors, "
            "started_at) VALUES (%s, 'done', 0, 0, 0, 0, '[]', now()) RETURNING id",
            [period.pk],
        )
        (run_id,) = cursor.fetchone()
        # The same chunks as the service (about CHUNK schedules, whole projects), so the entries are the same size.
        chunks, current = [], []
        for d in diffs:
            if len(current) >= CHUNK and d[1] != current[-1][1]:
                chunks.append(current)
                current = []
            current.append(d)
        if current:
            chunks.append(current)
        for chunk in chunks:
            _write_chunk(cursor, chunk, positions, codes, account_ids, period, run_id)
    return sum((d[3] for d in diffs), Decimal(0))


def _write_chunk(cursor, diffs, positions, codes, account_ids, period, run_id) -> None:
    lines, net, clients = [], {}, {}
    for sid, pid, cid, amount in diffs:
        lines.append((account_ids[codes["revenue"]], max(-amount, 0), max(amount, 0), cid, pid, f"schedule {sid}"))
        net[pid] = net.get(pid, Decimal(0)) + amount
        clients[pid] = cid
    for pid in sorted(net):
        total = net[pid]
        unbilled, deferred = positions.get(pid, (Decimal(0), Decimal(0)))
        first = min(total, max(deferred, 0)) if total > 0 else min(-total, max(unbilled, 0))
        rest = abs(total) - first
        first_code, rest_code = ("deferred", "unbilled") if total > 0 else ("unbilled", "deferred")
        for code, amount in ((first_code, first), (rest_code, rest)):
            if amount > 0:
                side = (amount, 0) if total > 0 else (0, amount)
                lines.append((account_ids[codes[code]], *side, clients[pid], pid, "Contract position"))
    cursor.execute(
        "INSERT INTO core_numberseries (series, year, last) VALUES ('JE', %s, 1) "
        "ON CONFLICT (series, year) DO UPDATE SET last = core_numberseries.last + 1 RETURNING last",
        [period.end.year],
    )
    (number,) = cursor.fetchone()
    total = sum((ln[1] for ln in lines), Decimal(0))
    cursor.execute(
        "INSERT INTO ledger_journalentry (number, date, period_id, memo, source, origin, idempotency_key, "
        "spec_hash, total, posted_at) VALUES (%s, %s, %s, 'Revenue recognition', 'recognition', 'system', %s, "
        "'', %s, now()) RETURNING id",
        [f"JE-{period.end.year}-{number:06d}", period.end, period.pk, f"bench-revrec:{number}", total],
    )
    (entry_id,) = cursor.fetchone()
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'EUR', %s, 1)"] * len(lines))
    params = []
    for i, (account, debit, credit, cid, pid, memo) in enumerate(lines, 1):
        params += [entry_id, i, account, debit, credit, cid, pid, memo, period.end, period.pk, debit or credit]
    cursor.execute(
        "INSERT INTO ledger_journalline (entry_id, line_no, account_id, debit, credit, client_id, project_id, "
        "memo, date, period_id, currency, amount_currency, rate) VALUES " + values,
        params,
    )
    values = ", ".join(["(%s, %s, %s, 1, %s, %s, %s, 0, %s)"] * len(diffs))
    params = []
    for sid, _pid, _cid, amount in diffs:
        params += [sid, run_id, period.pk, period.end, amount, amount, entry_id]
    cursor.execute(
        "INSERT INTO ledger_recognition (schedule_id, run_id, period_id, sequence, as_of, cumulative, amount, "
        "provision_amount, entry_id) VALUES " + values,
        params,
    )
    values = ", ".join(["(%s::bigint, %s::numeric)"] * len(diffs))
    params = [x for sid, _p, _c, amount in diffs for x in (sid, amount)]
    cursor.execute(
        "UPDATE ledger_revenueschedule s SET recognised = s.recognised + v.amount, last_period_id = %s "
        f"FROM (VALUES {values}) AS v(id, amount) WHERE s.id = v.id",
        [period.pk, *params],
    )


def run(size: str) -> list[Record]:
    facts = revenue_load(size)
    period = facts["period"]

    def ours():
        recognition_run(period_id=period.pk)

    ours_s, queries = timed(ours, setup=revenue_reset, repeat=3)
    ours_total = sum((r.amount for r in Recognition.objects.all()), Decimal(0))
    baseline_s, _ = timed(lambda: baseline_run(period), setup=revenue_reset, repeat=3)
    baseline_total = sum((r.amount for r in Recognition.objects.all()), Decimal(0))
    if ours_total != baseline_total:
        raise AssertionError(f"revenue_run: ours posted {ours_total}, the baseline {baseline_total}")
    revenue_reset()
    return [
        Record(
            name="revenue_run",
            size=size,
            ours_s=ours_s,
            baseline_s=baseline_s,
            goal_ratio=2.0,
            queries=queries,
            notes=f"{facts['lines']:,} contract lines, {facts['entries']:,} approved time entries "
            f"(~{ENTRIES_PER_LINE[size]} per T&M/fixed line); posted {ours_total:,.2f} = baseline; "
            f"{queries} queries",
        )
    ]
