"""`make bench` runs every workload one after the other in one database: each must leave nothing behind that
changes a later one (a workload's leftovers once made invoice_run bill another workload's milestones, and two
generators wanted the same role name). The whole sequence at the tiny size, inside `make test`."""

import pkgutil
from importlib import import_module

import pytest

import tests.benchmarks.workloads as workloads

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.mark.timeout(900)  # every workload, one after the other: a few minutes on a busy machine
def test_every_workload_runs_after_the_others_at_the_tiny_size():
    names = sorted(m.name for m in pkgutil.iter_modules(workloads.__path__))
    assert {"invoice_run", "invoice_pdf", "revenue_run", "exception_scan"} <= set(names)
    seen = []
    for name in names:
        for record in import_module(f"tests.benchmarks.workloads.{name}").run("tiny"):
            assert record.ours_s > 0 and record.baseline_s > 0, (name, record)
            seen.append(record.name)
    assert len(seen) >= len(names)


def test_ledger_import_writes_the_journal_its_copy_baseline_writes():
    """ledger_import's two sides leave the same journal: the import's numbers, periods, totals and lines are those
    of the bare COPY (so the ratio compares the same work)."""
    from tests.benchmarks.workloads import ledger_import

    entries, setup, entry_rows, line_rows = ledger_import.prepare("tiny")
    setup()
    assert ledger_import.import_all(entries) == len(line_rows)
    imported = ledger_import.journal_state()
    setup()
    ledger_import.copy_all(entry_rows, line_rows)
    copied = ledger_import.journal_state()
    ledger_import.ledger_truncate()
    assert len(imported[0]) == len(entry_rows) and len(imported[1]) == len(line_rows)
    assert imported == copied


def test_journal_post_vs_hordak_posts_the_same_books_on_both_sides():
    """The entries journal_post_vs_hordak times land in both ledgers with the same balance on every account."""
    from decimal import Decimal

    from django.db.models import Sum

    from ledger.models import JournalLine
    from tests.benchmarks.workloads import journal_post_vs_hordak
    from tests.benchmarks.workloads.journal_post import plan_entries, post_all

    _facts, plan, specs, load = plan_entries("tiny")
    load()
    post_all(specs)
    ours = {
        row["account__code"]: row["d"] - row["c"]
        for row in JournalLine.objects.filter(entry__source__startswith="bench-post:")
        .values("account__code")
        .annotate(d=Sum("debit"), c=Sum("credit"))
        .order_by()
    }
    theirs = journal_post_vs_hordak.hordak_post(plan, repeat=1)
    journal_post_vs_hordak.ledger_truncate()
    assert theirs["transactions"] == len(specs)
    assert theirs["legs"] == sum(len(s.lines) for s in specs)
    assert {code: Decimal(v) for code, v in theirs["balances"].items()} == ours
