"""fx_revaluation: month-end revaluation of ITEMS open foreign-currency receivables (USD, GBP, JPY; 50,000 at S,
500,000 at M) through ledger.services.revaluation.revaluation_run, against hand-written SQL doing the same
postings on the same data: one aggregate joined with the period-end rates into a temporary table, then per chunk
of CHUNK items (the service's entry size) the number bump, the entry and its lines (difference on AR, gain or
loss with the same dimensions), each entry dated the period end with its automatic reversal. Both fire the same
triggers (balance at commit, open period, immutability); between runs the revaluation is removed so each starts
from the same state.
"""

from django.db import connection, transaction

from ledger.models import JournalEntry, JournalLine
from ledger.services.revaluation import CHUNK, revaluation_run
from psa.core.entities import entity_default_id
from tests.benchmarks.gen_fx import fx_load, fx_reset
from tests.benchmarks.harness import Record, timed

AGGREGATE = """
CREATE TEMP TABLE fx_diff ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY i.currency, i.code, i.client_id, i.project_id) AS rn, i.*,
       round(i.open * r.rate, 2) - i.booked AS diff
FROM (
  SELECT l.account_id, a.code, l.client_id, l.project_id, l.currency,
         SUM(CASE WHEN l.debit > 0 THEN l.amount_currency ELSE -l.amount_currency END) AS open,
         SUM(l.debit - l.credit) AS booked
  FROM ledger_journalline l JOIN ledger_ledgeraccount a ON a.id = l.account_id
  WHERE a.system_role IN ('receivable', 'cash') AND l.date <= %(end)s AND l.currency <> 'EUR'
  GROUP BY l.account_id, a.code, l.client_id, l.project_id, l.currency
) i
JOIN LATERAL (
  SELECT rate FROM core_exchangerate x
  WHERE x.currency = i.currency AND x.quote = 'EUR' AND x.date <= %(end)s ORDER BY x.date DESC LIMIT 1
) r ON true
WHERE round(i.open * r.rate, 2) - i.booked <> 0
"""
ENTRY = """
WITH n AS (
  INSERT INTO core_numberseries (series, year, last) VALUES ('JE', %(year)s, 1)
  ON CONFLICT (series, year) DO UPDATE SET last = core_numberseries.last + 1 RETURNING last
)
INSERT INTO ledger_journalentry (number, date, period_id, memo, source, origin, idempotency_key, spec_hash,
                                 auto_reverse_on, total, posted_at, entity_id)
SELECT 'JE-' || %(year)s || '-' || lpad(n.last::text, 6, '0'), %(end)s, %(period)s, %(memo)s, 'bench-fx-raw',
       'system', %(key)s, '', %(next)s, (SELECT SUM(abs(diff)) FROM fx_diff WHERE rn BETWEEN %(lo)s AND %(hi)s), now(),
       %(entity)s
FROM n RETURNING id
"""
LINES = """
INSERT INTO ledger_journalline (entry_id, line_no, account_id, debit, credit, client_id, project_id, memo, date,
                                period_id, currency, amount_currency, rate, entity_id)
SELECT %(entry)s, 2 * (rn - %(lo)s) + 1, account_id, greatest(diff, 0), greatest(-diff, 0), client_id, project_id,
       'Revaluation', %(end)s, %(period)s, currency, 0, 1, %(entity)s
FROM fx_diff WHERE rn BETWEEN %(lo)s AND %(hi)s
UNION ALL
SELECT %(entry)s, 2 * (rn - %(lo)s) + 2, CASE WHEN diff > 0 THEN %(gain)s ELSE %(loss)s END, greatest(-diff, 0),
       greatest(diff, 0), client_id, project_id, 'Revaluation', %(end)s, %(period)s, currency, 0, 1, %(entity)s
FROM fx_diff WHERE rn BETWEEN %(lo)s AND %(hi)s
"""


def raw_revaluation(period, accounts) -> None:
    params = {"end": period.end, "period": period.pk, "year": period.end.year, "entity": entity_default_id(),
              "gain": accounts["7150"],
              "loss": accounts["7250"], "next": period.end.replace(day=1).replace(month=period.end.month % 12 + 1)
              if period.end.month < 12 else period.end.replace(year=period.end.year + 1, month=1, day=1)}  # fmt: skip
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(AGGREGATE, params)
        cursor.execute("SELECT COUNT(*) FROM fx_diff")
        (n,) = cursor.fetchone()
        for chunk, lo in enumerate(range(1, n + 1, CHUNK), start=1):
            p = {**params, "lo": lo, "hi": lo + CHUNK - 1, "memo": f"Revaluation ({chunk})", "key": f"raw:{chunk}"}
            cursor.execute(ENTRY, p)
            (entry_id,) = cursor.fetchone()
            cursor.execute(LINES, {**p, "entry": entry_id})


def run(size: str) -> list[Record]:
    facts = fx_load(size)
    period = facts["period"]
    accounts = facts["firm"].accounts

    def reset():
        fx_reset(facts)

    ours_s, queries = timed(lambda: revaluation_run(period_id=period.pk), setup=reset, repeat=2)
    ours_lines = JournalLine.objects.filter(entry__source__startswith="fx-revaluation:").count()
    ours_net = sorted(
        JournalLine.objects.filter(entry__source__startswith="fx-revaluation:", account__code="1100").values_list(
            "client_id", "project_id", "currency", "debit", "credit"
        )
    )
    baseline_s, _ = timed(lambda: raw_revaluation(period, accounts), setup=reset, repeat=2)
    raw_net = sorted(
        JournalLine.objects.filter(entry__source="bench-fx-raw", account__code="1100").values_list(
            "client_id", "project_id", "currency", "debit", "credit"
        )
    )
    assert ours_net == raw_net, "ours and the baseline must post the same differences"
    entries = JournalEntry.objects.filter(source="bench-fx-raw").count()
    fx_reset(facts)
    return [
        Record(
            name="fx_revaluation",
            size=size,
            ours_s=ours_s,
            baseline_s=baseline_s,
            goal_ratio=1.5,
            queries=queries,
            notes=f"{facts['items']:,} open USD/GBP/JPY items -> {ours_lines:,} lines in {entries} entries of "
            f"{CHUNK} items (plan: one aggregate + one rates query)",
        )
    ]
