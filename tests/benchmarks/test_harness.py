"""The benchmark harness times ours and the baseline in alternating rounds and reports each round's ratio."""

import time

from tests.benchmarks.harness import Record, growth, paired


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


def test_growth_compares_each_per_unit_figure_with_every_smaller_size_measured():
    by_size = {
        "S": {"invoice_run": {"s_per_contract": 0.010, "queries_per_contract": 12.0}},
        "M": {"invoice_run": {"s_per_contract": 0.011, "queries_per_contract": 12.0}, "trial_balance": {"s": 0.02}},
        "L": {"invoice_run": {"s_per_contract": 0.016, "queries_per_contract": 12.0}, "trial_balance": {"s": 0.021}},
    }
    checks = {(g.record, g.unit, g.than): g for g in growth(by_size, "L")}
    assert set(checks) == {
        ("invoice_run", "s_per_contract", "S"),
        ("invoice_run", "queries_per_contract", "S"),
        ("invoice_run", "s_per_contract", "M"),
        ("invoice_run", "queries_per_contract", "M"),
        ("trial_balance", "s", "M"),
    }
    assert checks[("invoice_run", "s_per_contract", "M")].ratio == 1.455
    assert not checks[("invoice_run", "s_per_contract", "M")].ok
    assert checks[("trial_balance", "s", "M")].ok and checks[("invoice_run", "queries_per_contract", "S")].ratio == 1
    assert growth(by_size, "S") == []
