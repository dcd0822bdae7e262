"""journal_post: 10k entries posted through ledger.services.entry_post in one job (one transaction), against a
hand-written raw-SQL insert of the same rows (counter bump, entry, lines per entry) in one transaction.

Both run on the same loaded ledger and fire the same triggers (balance at commit, open period, immutability);
between runs the journal is reloaded so each run starts from the same state. Goal: at most 1.5x the raw SQL, which
entry_post reaches by posting each entry in one prepared statement (key, accounts, dimensions, entity, period,
number, entry and lines; ledger.sql.entry_post_statement).
"""

from collections.abc import Callable
from decimal import Decimal

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from ledger.services import EntrySpec, LineSpec, entry_post
from psa.core.entities import entity_default_id
from tests.benchmarks.gen_ledger import LINES_PER_MONTH, build_month, ledger_load, ledger_truncate
from tests.benchmarks.harness import Record, timed

ENTRIES = {"tiny": 300, "S": 10_000, "M": 10_000}


def plan_entries(size: str) -> tuple[dict, list, list[EntrySpec], Callable[[], dict]]:
    """Load the ledger of `size` and plan the entries to post into its first open month: (facts, plan of (memo,
    day, lines), the same as EntrySpecs, the loader that puts the ledger back as it was). Shared with
    journal_post_vs_hordak, which posts the same entries through django-hordak."""
    import random

    n = ENTRIES[size]
    history = LINES_PER_MONTH[size] * 6

    def load():
        return ledger_load(size, history)

    facts = load()
    month = facts["first_open"].start
    rng = random.Random(7)
    plan = []
    while len(plan) < n:
        plan.extend(build_month(facts["firm"], month, 3 * n, rng))
    plan = plan[:n]
    specs = [
        EntrySpec(
            date=day,
            memo=memo,
            source=f"bench-post:{i}",
            lines=tuple(
                LineSpec(account=code, debit=d, credit=c, client_id=cl, project_id=pr) for code, d, c, cl, pr in lines
            ),
        )
        for i, (memo, day, lines) in enumerate(plan)
    ]
    return facts, plan, specs, load


def post_all(specs: list[EntrySpec]) -> None:
    """PSA's side: every entry through entry_post, in one transaction."""
    with transaction.atomic():
        for i, spec in enumerate(specs):
            entry_post(spec=spec, key=f"bench-post:{i}")


def run(size: str) -> list[Record]:
    n = ENTRIES[size]
    facts, plan, specs, load = plan_entries(size)
    accounts = facts["firm"].accounts
    period_id = facts["first_open"].pk

    def ours():
        post_all(specs)

    entity_id = entity_default_id()

    def baseline():
        with transaction.atomic(), connection.cursor() as cursor:
            for i, (memo, day, lines) in enumerate(plan):
                cursor.execute(
                    "INSERT INTO core_numberseries (series, year, last) VALUES ('JE', %s, 1) "
                    "ON CONFLICT (series, year) DO UPDATE SET last = core_numberseries.last + 1 RETURNING last",
                    [day.year],
                )
                (number,) = cursor.fetchone()
                total = sum((ln[1] for ln in lines), Decimal(0))
                cursor.execute(
                    "INSERT INTO ledger_journalentry (number, date, period_id, memo, source, origin, idempotency_key, "
                    "spec_hash, total, posted_at, entity_id) VALUES (%s, %s, %s, %s, %s, 'system', %s, '', %s, now(), "
                    "%s) RETURNING id",
                    [
                        f"JE-{day.year}-{number:06d}",
                        day,
                        period_id,
                        memo,
                        f"bench-post:{i}",
                        f"bench-post:{i}",
                        total,
                        entity_id,
                    ],
                )
                (entry_id,) = cursor.fetchone()
                values = []
                params = []
                for j, (code, d, c, cl, pr) in enumerate(lines, 1):
                    values.append("(%s, %s, %s, %s, %s, %s, %s, '', %s, %s, 'EUR', %s, 1, %s)")
                    params += [entry_id, j, accounts[code], d, c, cl, pr, day, period_id, d or c, entity_id]
                cursor.execute(
                    "INSERT INTO ledger_journalline (entry_id, line_no, account_id, debit, credit, client_id, "
                    "project_id, memo, date, period_id, currency, amount_currency, rate, entity_id) VALUES "
                    + ", ".join(values),
                    params,
                )

    ours_s, _ = timed(ours, setup=load, repeat=3)
    load()
    with transaction.atomic(), CaptureQueriesContext(connection) as sample:
        for i, spec in enumerate(specs[:100]):
            entry_post(spec=spec, key=f"bench-sample:{i}")
    per_entry = len(sample) / min(100, len(specs))
    baseline_s, _ = timed(baseline, setup=load, repeat=3)
    lines = sum(len(s.lines) for s in specs)
    ledger_truncate()
    return [
        Record(
            name="journal_post",
            size=size,
            ours_s=ours_s,
            baseline_s=baseline_s,
            goal_ratio=1.5,
            queries=round(per_entry * n),
            notes=f"{n:,} entries / {lines:,} lines in one transaction, validated, numbered, with dimensions; "
            f"{per_entry:.1f} queries per entry (baseline 3)",
        )
    ]
