"""The ledger benchmark workloads run and report the agreed records (tiny size, inside `make test`)."""

import pytest

from ledger.models import AccountBalance, JournalLine
from ledger.selectors import trial_balance
from tests.benchmarks.gen_ledger import ledger_load
from tests.benchmarks.workloads import journal_post
from tests.benchmarks.workloads import trial_balance as trial_balance_workload

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.bench, pytest.mark.django_db(transaction=True)]


def test_the_generated_ledger_balances_with_closed_months_in_stored_balances():
    facts = ledger_load("tiny", 3_000)
    assert JournalLine.objects.count() == facts["lines"] >= 3_000
    assert facts["closed"] == facts["months"] - 2 and AccountBalance.objects.exists()
    assert trial_balance(at=facts["at"]).balanced


def test_the_ledger_records_have_the_agreed_shape():
    records = trial_balance_workload.run("tiny") + journal_post.run("tiny")
    assert [r.name for r in records] == ["trial_balance_growth", "pnl_growth", "trial_balance", "journal_post"]
    for record in records:
        d = record.as_dict()
        assert list(d) == ["name", "size", "ours_s", "baseline_s", "ratio", "goal_ratio", "queries", "notes"]
        assert d["ours_s"] > 0 and d["baseline_s"] > 0
    assert [r.goal_ratio for r in records] == [1.3, 1.3, 1.5, 1.5]
