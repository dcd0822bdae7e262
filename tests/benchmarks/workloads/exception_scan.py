"""exception_scan: the exception queue's full scan (psa.web.exception_queue.exception_scan, every rule plus the
dismissals) against hand-written SQL for the same rules on the same data, whose keys must agree. Data: gen_time's
approved entries (1,000,000 at M, 100,000 at S, 5,000 tiny) on capped contract lines, plus gen_ops' milestones,
invoices, outbox messages and a failed run. The scan day is the day after the last entry. Goal 2."""

from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from psa.web.exception_queue import exception_scan, projected_cap_date
from tests.benchmarks.gen_ops import ops_load, ops_truncate
from tests.benchmarks.gen_time import time_load, time_truncate
from tests.benchmarks.harness import Record, timed

ENTRIES = {"tiny": 5_000, "S": 100_000, "M": 1_000_000}
NOT_BILLED = (
    "NOT EXISTS (SELECT 1 FROM billing_sourcelink s WHERE s.kind = %s AND s.source_id = {t}.id "
    "AND s.released_at IS NULL)"
)
SQL = {
    "subcontract_mismatch": """
        WITH approved AS (
            SELECT c.vendor_id, t.consultant_id, date_trunc('month', t.date)::date AS m, SUM(t.hours) AS h
            FROM projects_timeentry t JOIN projects_consultant c ON c.id = t.consultant_id
            WHERE t.status = 'approved' AND c.vendor_id IS NOT NULL AND t.date BETWEEN %(sub_first)s AND %(sub_end)s
            GROUP BY 1, 2, 3
        ), billed AS (
            SELECT b.vendor_id, l.consultant_id, gs.m::date AS m,
                   SUM(round(l.hours * ((LEAST(l.period_end, (gs.m + interval '1 month - 1 day')::date)
                                         - GREATEST(l.period_start, gs.m::date) + 1))::numeric
                             / (l.period_end - l.period_start + 1), 2)) AS h
            FROM billing_vendorbillline l JOIN billing_vendorbill b ON b.id = l.bill_id,
                 generate_series(date_trunc('month', l.period_start), date_trunc('month', l.period_end),
                                 interval '1 month') AS gs(m)
            WHERE l.kind = 'subcontract' AND b.status IN ('posted', 'partly_paid', 'paid')
            GROUP BY 1, 2, 3
        )
        SELECT COALESCE(a.vendor_id, b.vendor_id), COALESCE(a.consultant_id, b.consultant_id), COALESCE(a.m, b.m)
        FROM approved a FULL JOIN billed b ON a.vendor_id = b.vendor_id AND a.consultant_id = b.consultant_id
                                           AND a.m = b.m
        WHERE COALESCE(a.m, b.m) BETWEEN %(sub_first)s AND %(sub_last)s
          AND abs(COALESCE(b.h, 0) - COALESCE(a.h, 0)) > 0.50
    """,
    "missing_time": """
        SELECT c.id FROM projects_consultant c
        LEFT JOIN (SELECT consultant_id, SUM(hours) h FROM projects_timeentry
                   WHERE date BETWEEN %(monday)s AND %(sunday)s GROUP BY consultant_id) t ON t.consultant_id = c.id
        WHERE c.is_active AND c.weekly_capacity > 0 AND COALESCE(t.h, 0) < c.weekly_capacity""",
    "unbilled_ageing": f"""
        SELECT te.project_id FROM projects_timeentry te
        WHERE te.status = 'approved' AND te.billable AND te.date <= %(unbilled_before)s
          AND {NOT_BILLED.format(t="te").replace("%s", "'time_entry'")}
        GROUP BY te.project_id""",
    "milestone_uninvoiced": f"""
        SELECT m.id FROM projects_milestone m
        WHERE m.status = 'accepted' AND m.amount > 0
          AND (m.accepted_at AT TIME ZONE %(tz)s)::date <= %(milestone_before)s
          AND {NOT_BILLED.format(t="m").replace("%s", "'milestone'")}""",
    "cap_approaching": f"""
        SELECT l.id, l.cap, COALESCE(b.s, 0) + COALESCE(u.s, 0), COALESCE(r.s, 0)
        FROM projects_contractline l JOIN projects_contract c ON c.id = l.contract_id
        LEFT JOIN (SELECT contract_line_id, SUM(amount) s FROM billing_sourcelink WHERE released_at IS NULL
                   GROUP BY 1) b ON b.contract_line_id = l.id
        LEFT JOIN (SELECT contract_line_id, SUM(hours * bill_rate) s FROM projects_timeentry te
                   WHERE status = 'approved' AND billable
                     AND {NOT_BILLED.format(t="te").replace("%s", "'time_entry'")} GROUP BY 1) u
               ON u.contract_line_id = l.id
        LEFT JOIN (SELECT contract_line_id, SUM(hours * bill_rate) s FROM projects_timeentry
                   WHERE status = 'approved' AND billable AND date > %(burn_from)s AND date <= %(as_of)s
                   GROUP BY 1) r ON r.contract_line_id = l.id
        WHERE l.cap > 0 AND c.end_date >= %(contract_end)s""",
    "estimate_over_price": """
        WITH est AS (SELECT DISTINCT ON (project_id) project_id, etc_hours, etc_cost FROM ledger_projectestimate
                     WHERE as_of <= %(as_of)s ORDER BY project_id, as_of DESC),
             act AS (SELECT project_id, SUM(hours) h, SUM(hours * cost_rate) c FROM projects_timeentry
                     WHERE status = 'approved' AND project_id IN (SELECT project_id FROM est) GROUP BY 1),
             price AS (SELECT c.project_id, SUM(l.price) p FROM projects_contractline l
                       JOIN projects_contract c ON c.id = l.contract_id
                       WHERE c.project_id IN (SELECT project_id FROM est) GROUP BY 1)
        SELECT est.project_id FROM est JOIN price USING (project_id) LEFT JOIN act USING (project_id)
        WHERE ROUND(COALESCE(act.c, 0) + COALESCE(est.etc_cost, est.etc_hours * COALESCE(act.c / NULLIF(act.h, 0), 0)),
                    2) > price.p""",
    "time_outlier": """
        WITH d AS (SELECT consultant_id, date, SUM(hours) h FROM projects_timeentry
                   WHERE date BETWEEN %(base_from)s AND %(as_of)s GROUP BY 1, 2),
             s AS (SELECT consultant_id, AVG(h) m, STDDEV_POP(h) sd, COUNT(*) n FROM d
                   WHERE date < %(recent_from)s GROUP BY 1)
        SELECT d.consultant_id, d.date FROM d JOIN s USING (consultant_id)
        WHERE d.date >= %(recent_from)s AND s.n >= 10 AND d.h > s.m + 3 * s.sd""",
    "invoice_outlier": """
        WITH i AS (SELECT * FROM billing_invoice WHERE kind = 'invoice' AND issue_date IS NOT NULL
                   AND status NOT IN ('draft', 'cancelled')),
             b AS (SELECT account_id, COUNT(*) n, AVG(net_total) m, STDDEV_POP(net_total) sd FROM i
                   WHERE issue_date < %(window_from)s GROUP BY 1)
        SELECT i.id FROM i JOIN b USING (account_id)
        WHERE i.issue_date BETWEEN %(window_from)s AND %(as_of)s AND b.n >= 3
          AND CASE WHEN b.sd > 0 THEN ABS(i.net_total - b.m) > 3 * b.sd ELSE ABS(i.net_total - b.m) > b.m / 2 END""",
    "outbox_failed": """
        SELECT id FROM core_outboxmessage
        WHERE status = 'failed' OR (status = 'pending' AND attempts > 0 AND created_at < %(stale)s)""",
    "run_failed": "SELECT run_id FROM billing_billingrunitem WHERE status = 'failed' GROUP BY run_id",
    "einvoice_invalid": "SELECT id FROM billing_invoice WHERE number IS NOT NULL AND pdf_sha256 = '' "
    "AND einvoice_error <> ''",
    "budget_threshold": "SELECT id FROM ledger_budgetalert WHERE cleared_at IS NULL",
    "dismissals": "SELECT rule, item_key, fingerprint, action, until FROM web_exceptiondismissal",
}


def raw_scan(as_of) -> dict[str, set[str]]:
    monday = as_of - timedelta(days=as_of.weekday()) - timedelta(days=7)
    params = {
        "monday": monday, "sunday": monday + timedelta(days=6), "unbilled_before": as_of - timedelta(days=30),
        "milestone_before": as_of - timedelta(days=7), "tz": timezone.get_current_timezone_name(),
        "burn_from": as_of - timedelta(days=28), "as_of": as_of, "contract_end": as_of - timedelta(days=31),
        "base_from": as_of - timedelta(days=103), "recent_from": as_of - timedelta(days=13),
        "window_from": as_of - timedelta(days=29), "stale": timezone.now() - timedelta(hours=1),
    }  # fmt: skip
    # subcontract_mismatch: the twelve months through the last one that ended 15 days before `as_of`
    cutoff = as_of - timedelta(days=15)
    last = (cutoff.replace(day=1) - timedelta(days=1)).replace(day=1)
    first = (last.replace(year=last.year - 1) + timedelta(days=32)).replace(day=1)
    params |= {
        "sub_first": first,
        "sub_last": last,
        "sub_end": (last + timedelta(days=32)).replace(day=1) - timedelta(days=1),
    }
    out: dict[str, set[str]] = {}
    with connection.cursor() as cursor:
        for rule, sql in SQL.items():
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            if rule == "missing_time":
                out[rule] = {f"consultant:{r[0]}:{monday.isoformat()}" for r in rows}
            elif rule == "unbilled_ageing":
                out[rule] = {f"project:{r[0]}" for r in rows}
            elif rule == "milestone_uninvoiced":
                out[rule] = {f"milestone:{r[0]}" for r in rows}
            elif rule == "cap_approaching":
                keys = set()
                for line_id, cap, consumed, burn in rows:
                    consumed = consumed.quantize(Decimal("0.01"))
                    when = projected_cap_date(cap=cap, consumed=consumed, burn_28d=burn, as_of=as_of)
                    if consumed * 100 / cap >= 80 or (when is not None and when <= as_of + timedelta(days=30)):
                        keys.add(f"contract_line:{line_id}")
                out[rule] = keys
            elif rule == "estimate_over_price":
                out[rule] = {f"project:{r[0]}" for r in rows}
            elif rule == "time_outlier":
                out[rule] = {f"consultant:{c}:{d.isoformat()}" for c, d in rows}
            elif rule == "invoice_outlier":
                out[rule] = {f"invoice:{r[0]}" for r in rows}
            elif rule == "outbox_failed":
                out[rule] = {f"outbox:{r[0]}" for r in rows}
            elif rule == "run_failed":
                out[rule] = {f"run:{r[0]}" for r in rows}
            elif rule == "einvoice_invalid":
                out[rule] = {f"invoice:{r[0]}" for r in rows}
            elif rule == "budget_threshold":
                out[rule] = {f"budget-alert:{r[0]}" for r in rows}
            elif rule == "subcontract_mismatch":
                out[rule] = {f"subcontract:{v}:{c}:{m:%Y-%m}" for v, c, m in rows}
    return out


def run(size: str) -> list[Record]:
    n = time_load(size, ENTRIES[size])
    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(date) FROM projects_timeentry")
        as_of = cursor.fetchone()[0] + timedelta(days=1)
    counts = ops_load(size, as_of)

    def ours():
        return exception_scan(as_of=as_of)

    scan = ours()
    mine = {rule: {i.key for i in items} for rule, items in scan.open.items()}
    assert mine == raw_scan(as_of), "ours and the baseline must agree"
    ours_s, queries = timed(ours, repeat=3)
    baseline_s, _ = timed(lambda: raw_scan(as_of), repeat=3)
    found = ", ".join(f"{rule} {len(keys)}" for rule, keys in mine.items())
    ops_truncate()
    time_truncate()
    note = (
        f"{n} approved entries, {counts['milestones']} milestones, {counts['invoices']} invoices, "
        f"{counts['outbox']} outbox messages; items: {found}"
    )
    return [
        Record(
            name="exception_scan",
            size=size,
            ours_s=ours_s,
            baseline_s=baseline_s,
            goal_ratio=2.0,
            queries=queries,
            notes=note,
        )
    ]
