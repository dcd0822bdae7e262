"""trial_balance_growth and trial_balance: the trial balance reads closed months from stored balances.

trial_balance_growth: the same trial balance (at the last day of the history) on a ledger ten times longer;
ratio = time on the big ledger ÷ time on the small one (goal 1.3). Sizes: S 20k vs 200k lines, M 200k vs 2M
L 3M vs 30M (tiny 3k vs 9k in the smoke test). pnl_growth: the same for the P&L of the history's last twelve months
(it reads the months' lines). trial_balance: ours (ledger.selectors.trial_balance, all its queries and
Python) against one hand-written SQL query over the same stored balances plus the open months' lines.
"""

import time
from datetime import date

from django.db import connection

from ledger.models import JournalLine
from ledger.selectors import last_closed_through, trial_balance
from ledger.selectors.books import pnl
from tests.benchmarks.gen_ledger import GROWTH_LINES, ledger_load, ledger_truncate
from tests.benchmarks.harness import Record, timed

RAW = """
SELECT a.code, SUM(x.d), SUM(x.c) FROM (
  SELECT account_id, cum_debit AS d, cum_credit AS c FROM ledger_accountbalance WHERE period_id = %s
  UNION ALL
  SELECT account_id, debit, credit FROM ledger_journalline WHERE date > %s AND date <= %s
) x JOIN ledger_ledgeraccount a ON a.id = x.account_id
GROUP BY a.code ORDER BY a.code
"""


def raw_trial_balance(at, closed):
    with connection.cursor() as cursor:
        cursor.execute(RAW, [closed.pk, closed.end, at])
        return cursor.fetchall()


def _check(at) -> None:
    tb = trial_balance(at=at)
    assert tb.balanced, "the benchmark ledger must balance"
    raw = {code: d - c for code, d, c in raw_trial_balance(at, last_closed_through(at))}
    assert {r.account.code: r.closing for r in tb.rows if r.closing} == {k: v for k, v in raw.items() if v}


def _year_before(at: date) -> date:
    return date(at.year - 1, at.month % 12 + 1, 1)


def run(size: str) -> list[Record]:
    small_lines, big_lines = GROWTH_LINES[size]
    small = ledger_load(size, small_lines)
    _check(small["at"])
    small_s, _ = timed(lambda: trial_balance(at=small["at"]), repeat=7)
    small_pnl_s, _ = timed(lambda: pnl(start=_year_before(small["at"]), end=small["at"]), repeat=7)

    loading = time.perf_counter()
    big = ledger_load(size, big_lines)
    load_s = time.perf_counter() - loading
    _check(big["at"])
    big_s, queries = timed(lambda: trial_balance(at=big["at"]), repeat=7)
    big_pnl_s, pnl_queries = timed(lambda: pnl(start=_year_before(big["at"]), end=big["at"]), repeat=7)
    closed = last_closed_through(big["at"])
    raw_s, _ = timed(lambda: raw_trial_balance(big["at"], closed), repeat=7)
    # The unit of work the growth checks compare across sizes: both reports read the stored balances of the last
    # closed month and the lines of the open months after it, whose number follows the firm's monthly volume
    # (L posts ten times M's lines a month), not its history.
    open_lines = JournalLine.objects.filter(date__gt=closed.end, date__lte=big["at"]).count()
    ledger_truncate()
    return [
        Record(
            name="trial_balance_growth",
            size=size,
            ours_s=big_s,
            baseline_s=small_s,
            goal_ratio=1.3,
            queries=queries,
            notes=f"TB at {big['at']}: {big['lines']:,} lines/{big['months']} months vs {small['lines']:,} lines/"
            f"{small['months']} months ({size}: {small_lines:,} vs {big_lines:,}); 2 open months read from lines; "
            f"the big ledger loaded by COPY and closed in {load_s:.1f} s",
        ),
        Record(
            name="pnl_growth",
            size=size,
            ours_s=big_pnl_s,
            baseline_s=small_pnl_s,
            goal_ratio=1.3,
            queries=pnl_queries,
            notes=f"P&L of the last 12 months to {big['at']}: {big['lines']:,} lines vs {small['lines']:,}; "
            f"{open_lines:,} open-month lines ({big_pnl_s:.4f} s)",
            units={"s_per_open_line": big_pnl_s / max(open_lines, 1)},
        ),
        Record(
            name="trial_balance",
            size=size,
            ours_s=big_s,
            baseline_s=raw_s,
            goal_ratio=1.5,
            queries=queries,
            notes=f"selector vs one raw SQL over the same stored balances + open-month lines, {big['lines']:,} lines, "
            f"{open_lines:,} of them in the open months",
            units={"s_per_open_line": big_s / max(open_lines, 1)},
        ),
    ]
