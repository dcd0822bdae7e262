"""revenue_run: the monthly recognition run for 2,000 contract lines (T&M, fixed fee by hours, milestones,
retainers; ~12 approved time entries per T&M and fixed-fee line) against a hand-written raw-SQL baseline that
computes the same amounts (one statement with the same rules), reads the contract positions, and writes the
same journal entry lines, recognition rows and schedule totals in one transaction.

A third of the contracts are in USD or GBP: the baseline reads the month end's rates (one statement), splits
each foreign project's net through its position at booked values and the rate, allocates the functional total
over the project's revenue lines and writes the lines with their currency, amount and rate, as the service does.

Both start from the same state (journal and runs truncated, schedules zeroed) and must post the same total, in
the contracts' currencies and in the functional one;
the record's query count is our run's (it grows with contract lines by chunks of 500 at most, never with time
entries: tests/ledger/test_recognition_rules.py counts it at two sizes)."""

from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, Sum

from ledger.choices import SystemAccount
from ledger.models import JournalLine, Recognition
from ledger.services.accounts import account_code_for
from ledger.services.revenue import CHUNK, recognition_run
from psa.core.currency import functional_currency
from psa.core.entities import entity_default_id
from psa.core.models import ExchangeRate
from psa.core.money import FX_RATE_PLACES, allocate, round_money, round_to
from tests.benchmarks.gen_revenue import ENTRIES_PER_LINE, revenue_load, revenue_reset
from tests.benchmarks.harness import Record, paired

TARGETS_SQL = """
WITH s AS (
  SELECT rs.id, rs.project_id, rs.client_id, rs.method, rs.price, rs.recognised, rs.contract_line_id,
         cl.cap, cl.hours AS sold, co.currency
    FROM ledger_revenueschedule rs JOIN projects_contractline cl ON cl.id = rs.contract_line_id
    JOIN projects_contract co ON co.id = cl.contract_id
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
SELECT s.id, s.project_id, s.client_id, s.recognised, s.currency,
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

# Per project each side in the contract's currency and at its booked functional value.
POSITIONS_SQL = """
SELECT l.project_id,
       COALESCE(SUM(CASE WHEN a.system_role = 'unbilled'
                         THEN CASE WHEN l.debit > 0 THEN l.amount_currency ELSE -l.amount_currency END END), 0),
       COALESCE(SUM(CASE WHEN a.system_role = 'unbilled' THEN l.debit - l.credit END), 0),
       COALESCE(SUM(CASE WHEN a.system_role = 'deferred'
                         THEN CASE WHEN l.credit > 0 THEN l.amount_currency ELSE -l.amount_currency END END), 0),
       COALESCE(SUM(CASE WHEN a.system_role = 'deferred' THEN l.credit - l.debit END), 0)
  FROM ledger_journalline l JOIN ledger_ledgeraccount a ON a.id = l.account_id
 WHERE a.system_role IN ('unbilled', 'deferred') AND l.project_id = ANY(%s)
 GROUP BY 1
"""

RATES_SQL = f"""
SELECT DISTINCT ON (currency) currency, rate FROM {ExchangeRate._meta.db_table}
 WHERE quote = %s AND date <= %s AND currency = ANY(%s) ORDER BY currency, date DESC
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
        rows = cursor.fetchall()
        diffs = [(sid, pid, cid, target - rec) for sid, pid, cid, rec, _c, target in rows if target is not None]
        diffs = [d for d in diffs if d[3]]
        currencies = {pid: currency for _s, pid, _c, _r, currency, _t in rows}
        functional = functional_currency()
        cursor.execute(RATES_SQL, [functional, period.end, sorted(set(currencies.values()) - {functional})])
        rates = dict(cursor.fetchall())
        projects = sorted({d[1] for d in diffs})
        cursor.execute(POSITIONS_SQL, [projects])
        positions = {p: sides for p, *sides in cursor.fetchall()}
        fx = {pid: rates[c] for pid, c in currencies.items() if c != functional}
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
            _write_chunk(cursor, chunk, positions, codes, account_ids, period, run_id, (currencies, fx))
    return sum((d[3] for d in diffs), Decimal(0))


def _split(total, position, rate):
    """The position parts of a project's net `total`: (role, amount in the contract's currency, functional value)
    for the relieving side (its booked value, in proportion) and the rest (at `rate`; None: functional)."""
    unbilled, unbilled_booked, deferred, deferred_booked = position
    if total > 0:
        balance, booked, roles = max(deferred, 0), deferred_booked, ("deferred", "unbilled")
    else:
        balance, booked, roles = max(unbilled, 0), unbilled_booked, ("unbilled", "deferred")
    first = min(abs(total), balance)
    rest = abs(total) - first
    if rate is None:
        return [(roles[0], first, first), (roles[1], rest, rest)]
    first_value = booked if first == balance else round_money(booked * first / balance) if first else Decimal(0)
    return [(roles[0], first, first_value), (roles[1], rest, round_money(rest * rate))]


def _write_chunk(cursor, diffs, positions, codes, account_ids, period, run_id, currency_rates) -> None:
    entity_id = entity_default_id()  # the benchmark firm's projects are all the default entity's
    currencies, fx = currency_rates
    functional = functional_currency()
    net, clients, items = {}, {}, {}
    for sid, pid, cid, amount in diffs:
        net[pid] = net.get(pid, Decimal(0)) + amount
        clients[pid] = cid
        items.setdefault(pid, []).append((sid, amount))
    parts, values = {}, {}
    empty = (Decimal(0),) * 4
    for pid in sorted(net):
        parts[pid] = _split(net[pid], positions.get(pid, empty), fx.get(pid))
        if pid in fx and net[pid]:
            total = sum((value for _r, amount, value in parts[pid] if amount > 0), Decimal(0))
            shares = allocate(total if net[pid] > 0 else -total, [a for _s, a in items[pid]])
            values.update({sid: share for (sid, _a), share in zip(items[pid], shares, strict=True)})
    lines = []
    for sid, pid, cid, amount in diffs:
        value = values.get(sid, amount)
        currency = currencies[pid]
        rate = round_to(value / amount, FX_RATE_PLACES) if pid in fx else Decimal(1)
        lines.append(
            (account_ids[codes["revenue"]], max(-value, 0), max(value, 0), cid, pid, f"schedule {sid}", currency,
             abs(amount), rate)
        )  # fmt: skip
    for pid in sorted(net):
        for code, amount, value in parts[pid]:
            if amount > 0 and value > 0:
                side = (value, 0) if net[pid] > 0 else (0, value)
                rate = round_to(value / amount, FX_RATE_PLACES) if pid in fx else Decimal(1)
                currency = currencies[pid] if pid in fx else functional
                lines.append(
                    (account_ids[codes[code]], *side, clients[pid], pid, "Contract position", currency, amount, rate)
                )
    cursor.execute(
        "INSERT INTO core_numberseries (series, year, last) VALUES ('JE', %s, 1) "
        "ON CONFLICT (series, year) DO UPDATE SET last = core_numberseries.last + 1 RETURNING last",
        [period.end.year],
    )
    (number,) = cursor.fetchone()
    total = sum((ln[1] for ln in lines), Decimal(0))
    cursor.execute(
        "INSERT INTO ledger_journalentry (number, date, period_id, memo, source, origin, idempotency_key, "
        "spec_hash, total, posted_at, entity_id) VALUES (%s, %s, %s, 'Revenue recognition', 'recognition', 'system', "
        "%s, '', %s, now(), %s) RETURNING id",
        [f"JE-{period.end.year}-{number:06d}", period.end, period.pk, f"bench-revrec:{number}", total, entity_id],
    )
    (entry_id,) = cursor.fetchone()
    values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"] * len(lines))
    params = []
    for i, (account, debit, credit, cid, pid, memo, currency, amount, rate) in enumerate(lines, 1):
        params += [entry_id, i, account, debit, credit, cid, pid, memo, period.end, period.pk, currency, amount, rate,
                   entity_id]  # fmt: skip
    cursor.execute(
        "INSERT INTO ledger_journalline (entry_id, line_no, account_id, debit, credit, client_id, project_id, "
        "memo, date, period_id, currency, amount_currency, rate, entity_id) VALUES " + values,
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


def _posted() -> tuple[Decimal, Decimal]:
    """What the last run recognised in the contracts' currencies, and its revenue in the functional one."""
    total = sum((r.amount for r in Recognition.objects.all()), Decimal(0))
    revenue = JournalLine.objects.filter(account__system_role=SystemAccount.SERVICES_REVENUE)
    return total, revenue.aggregate(v=Sum(F("credit") - F("debit")))["v"] or Decimal(0)


def run(size: str) -> list[Record]:
    facts = revenue_load(size)
    period = facts["period"]

    def ours():
        recognition_run(period_id=period.pk)

    revenue_reset()
    ours()
    ours_total, ours_functional = _posted()
    revenue_reset()
    baseline_run(period)
    baseline_total, baseline_functional = _posted()
    if (ours_total, ours_functional) != (baseline_total, baseline_functional):
        raise AssertionError(
            f"revenue_run: ours posted {ours_total} ({ours_functional} functional), the baseline {baseline_total} "
            f"({baseline_functional})"
        )
    # Both sides post the same figures (checked above); then they are timed in alternating rounds.
    timing = paired(ours, lambda: baseline_run(period), setup=revenue_reset, repeat=3)
    revenue_reset()
    return [
        Record(
            name="revenue_run",
            size=size,
            ours_s=timing.ours_s,
            baseline_s=timing.baseline_s,
            goal_ratio=1.5,
            queries=timing.queries,
            round_ratios=timing.round_ratios,
            notes=f"{facts['lines']:,} contract lines, {facts['entries']:,} approved time entries "
            f"(~{ENTRIES_PER_LINE[size]} per T&M/fixed line, a third of contracts in USD/GBP); posted "
            f"{ours_total:,.2f} in contract currencies = {ours_functional:,.2f} EUR = baseline; "
            f"{timing.queries} queries",
        )
    ]
