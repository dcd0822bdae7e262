"""The revenue_run benchmark runs at tiny size inside `make test`: ours and the raw-SQL baseline post the same
total (the workload raises otherwise) and the record has the agreed shape."""

import pytest

from tests.benchmarks.workloads import revenue_run

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.bench, pytest.mark.django_db(transaction=True)]


def test_the_revenue_run_record_has_the_agreed_shape_and_both_sides_post_the_same():
    (record,) = revenue_run.run("tiny")
    d = record.as_dict()
    assert list(d) == ["name", "size", "ours_s", "baseline_s", "ratio", "goal_ratio", "queries", "notes"]
    assert d["name"] == "revenue_run" and d["goal_ratio"] == 1.5
    assert d["ours_s"] > 0 and d["baseline_s"] > 0 and "= baseline" in d["notes"]
    assert d["queries"] < 100  # 100 contract lines: one chunk's worth of posting queries, not one per time entry
