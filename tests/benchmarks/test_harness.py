"""The benchmark harness times ours and the baseline in alternating rounds and reports each round's ratio."""

import time

from tests.benchmarks.harness import Record, paired


def test_paired_alternates_the_sides_after_a_setup_each_and_gives_each_rounds_ratio():
    calls: list[str] = []

    def ours():
        calls.append("ours")
        time.sleep(0.02)

    def baseline():
        calls.append("baseline")
        time.sleep(0.01)

    timing = paired(ours, baseline, setup=lambda: calls.append("setup"), repeat=3)
    assert calls == ["setup", "ours", "setup", "baseline"] * 3
    assert len(timing.round_ratios) == 3 and all(r > 1 for r in timing.round_ratios)
    assert timing.ours_s > timing.baseline_s > 0


def test_a_record_with_round_ratios_names_their_spread_in_its_notes():
    record = Record("x", "S", 2.0, 1.0, 1.5, queries=3, notes="100 rows", round_ratios=[1.9, 2.0, 2.4])
    assert record.ratio == 2.0 and not record.ok
    assert record.as_dict()["notes"] == "100 rows; ratio per round min/median/max 1.90/2.00/2.40 of 3"
    assert list(record.as_dict()) == ["name", "size", "ours_s", "baseline_s", "ratio", "goal_ratio", "queries", "notes"]
