"""cost_posting: the month-end labour cost of ENTRIES approved time entries (100,000 at S, 1,000,000 at M; employees
in EUR and USD, subcontractors) and their expenses over PROJECTS projects, through
ledger.services.cost_posting.cost_posting_run, against hand-written SQL doing the same postings on the same data:
ONE INSERT ... SELECT ... GROUP BY computing the cost per project x kind x currency (converted at the month-end
rate) into a temporary table, then per project the number bump, the entry and its lines (Dr cost of services /
Cr labour absorbed, subcontract accrual or expense claims, with the project's client and project), each entry
dated the month end in the project's entity. Both fire the same triggers; between runs what was posted is removed
so each starts from the same state. Ours also reads what is posted already (it posts the difference). The baseline
runs with PostgreSQL's JIT off (its compile time exceeded the query's own on this data).
"""

from django.db import connection, transaction

from ledger.models import JournalLine
from ledger.services.cost_posting import cost_posting_run
from tests.benchmarks.gen_cost import cost_load, cost_reset
from tests.benchmarks.harness import Record, timed

AGGREGATE = """
CREATE TEMP TABLE cost_raw ON COMMIT DROP AS
SELECT dense_rank() OVER (ORDER BY g.project_id) AS pn,
       row_number() OVER (PARTITION BY g.project_id ORDER BY g.kind, g.currency) AS ln, g.*,
       CASE WHEN g.currency = 'EUR' THEN g.amount ELSE round(g.amount * r.rate, 2) END AS functional,
       COALESCE(r.rate, 1) AS rate
FROM (
  SELECT t.project_id, p.account_id AS client_id, p.entity_id,
         CASE WHEN c.vendor_id IS NOT NULL THEN 'subcontract_accrual' ELSE 'labour_absorbed' END AS kind,
         COALESCE(v.currency, c.cost_currency) AS currency,
         SUM(round(t.hours * COALESCE(t.cost_rate, 0), 2)) AS amount
  FROM projects_timeentry t
  JOIN projects_consultant c ON c.id = t.consultant_id
  LEFT JOIN crm_vendor v ON v.id = c.vendor_id
  JOIN projects_project p ON p.id = t.project_id
  WHERE t.status = 'approved' AND t.date <= %(end)s
  GROUP BY 1, 2, 3, 4, 5
  UNION ALL
  SELECT e.project_id, p.account_id, p.entity_id, 'expense_claims', e.currency, SUM(e.amount)
  FROM projects_expense e JOIN projects_project p ON p.id = e.project_id
  WHERE e.status = 'approved' AND e.date <= %(end)s AND NOT (e.billable AND COALESCE(e.rebill_amount, 0) > 0)
  GROUP BY 1, 2, 3, 4, 5
) g
LEFT JOIN LATERAL (
  SELECT rate FROM core_exchangerate x
  WHERE x.currency = g.currency AND x.quote = 'EUR' AND x.date <= %(end)s ORDER BY x.date DESC LIMIT 1
) r ON g.currency <> 'EUR'
WHERE g.amount <> 0
"""
ENTRY = """
WITH n AS (
  INSERT INTO core_numberseries (series, year, last) VALUES ('JE', %(year)s, 1)
  ON CONFLICT (series, year) DO UPDATE SET last = core_numberseries.last + 1 RETURNING last
)
INSERT INTO ledger_journalentry (number, date, period_id, memo, source, origin, idempotency_key, spec_hash,
                                 total, posted_at, entity_id)
SELECT 'JE-' || %(year)s || '-' || lpad(n.last::text, 6, '0'), %(end)s, %(period)s, 'Labour cost', 'bench-cost-raw',
       'system', 'bench-cost-raw:' || %(pn)s, '', (SELECT SUM(functional) FROM cost_raw WHERE pn = %(pn)s), now(),
       (SELECT entity_id FROM cost_raw WHERE pn = %(pn)s LIMIT 1)
FROM n RETURNING id, entity_id
"""
LINES = """
INSERT INTO ledger_journalline (entry_id, line_no, account_id, debit, credit, client_id, project_id, memo, date,
                                period_id, currency, amount_currency, rate, entity_id)
SELECT %(entry)s, 2 * ln - 1, %(cos)s, functional, 0, client_id, project_id, 'Labour cost', %(end)s, %(period)s,
       currency, amount, rate, %(entity)s
FROM cost_raw WHERE pn = %(pn)s
UNION ALL
SELECT %(entry)s, 2 * ln, a.id, 0, functional, client_id, project_id, 'Labour cost', %(end)s, %(period)s,
       currency, amount, rate, %(entity)s
FROM cost_raw JOIN ledger_ledgeraccount a ON a.system_role = cost_raw.kind WHERE pn = %(pn)s
"""


def raw_cost_posting(period, accounts) -> None:
    params = {"end": period.end, "period": period.pk, "year": period.end.year, "cos": accounts["5000"]}
    with transaction.atomic(), connection.cursor() as cursor:
        # PostgreSQL's JIT compiles this one query for longer (2.5 s at S) than it runs; a hand-written batch turns
        # it off, so the baseline is the fast one.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(AGGREGATE, params)
        cursor.execute("SELECT COALESCE(MAX(pn), 0) FROM cost_raw")
        (projects,) = cursor.fetchone()
        for pn in range(1, projects + 1):
            cursor.execute(ENTRY, {**params, "pn": pn})
            entry_id, entity_id = cursor.fetchone()
            cursor.execute(LINES, {**params, "pn": pn, "entry": entry_id, "entity": entity_id})


def _cost_by_project(source_filter: dict) -> list[tuple]:
    return sorted(
        JournalLine.objects.filter(account__code="5000", **source_filter)
        .values_list("project_id", "currency", "debit", "amount_currency")
        .order_by()
    )


def run(size: str) -> list[Record]:
    facts = cost_load(size)
    period = facts["period"]
    accounts = facts["firm"].accounts

    def reset():
        cost_reset(facts)

    ours_s, queries = timed(lambda: cost_posting_run(period_id=period.pk), setup=reset, repeat=2)
    ours = _cost_by_project({"entry__source__startswith": "labour-cost:"})
    baseline_s, _ = timed(lambda: raw_cost_posting(period, accounts), setup=reset, repeat=2)
    raw = _cost_by_project({"entry__source": "bench-cost-raw"})
    assert ours == raw, "ours and the baseline must post the same cost per project, kind and currency"
    cost_reset(facts)
    return [
        Record(
            name="cost_posting",
            size=size,
            ours_s=ours_s,
            baseline_s=baseline_s,
            goal_ratio=1.5,
            queries=queries,
            notes=f"{facts['entries_time']:,} approved entries + {facts['expenses']:,} expenses, "
            f"{facts['consultants']:,} consultants -> {facts['projects']} project entries (plan: two aggregates + "
            "one posted-cost read)",
        )
    ]
