"""Benchmark records and timing. A record compares our code with a raw-SQL baseline run on the same data in
the same process, so the ratio means something on a shared machine where absolute times are noise."""

import gc
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from django.db import connection

from tests.querycount import StatementCounter


@dataclass
class Record:
    name: str
    size: str
    ours_s: float
    baseline_s: float
    goal_ratio: float
    queries: int | None = None
    notes: str = ""
    # The ratio of each round of a paired measurement (`paired`), reported as min/median/max in the notes.
    round_ratios: list[float] | None = None
    # Per-unit figures compared across sizes by `growth` (e.g. seconds and queries per contract); not in as_dict.
    units: dict[str, float] | None = None
    ratio: float = field(init=False)

    def __post_init__(self) -> None:
        self.ratio = round(self.ours_s / self.baseline_s, 3) if self.baseline_s else float("inf")
        self.ours_s = round(self.ours_s, 4)
        self.baseline_s = round(self.baseline_s, 4)
        if self.round_ratios:
            low, mid, high = min(self.round_ratios), statistics.median(self.round_ratios), max(self.round_ratios)
            spread = f"ratio per round min/median/max {low:.2f}/{mid:.2f}/{high:.2f} of {len(self.round_ratios)}"
            self.notes = f"{self.notes}; {spread}" if self.notes else spread

    @property
    def ok(self) -> bool:
        return self.ratio <= self.goal_ratio

    def as_dict(self) -> dict:
        d = asdict(self)
        return {k: d[k] for k in ("name", "size", "ours_s", "baseline_s", "ratio", "goal_ratio", "queries", "notes")}


def timed(fn: Callable[[], object], *, setup: Callable[[], object] | None = None, repeat: int = 3) -> tuple[float, int]:
    """Median wall time of `fn` over `repeat` runs (each after `setup`), and the statements the last run sent.

    Statements are counted by an execute wrapper: Django's query log (CaptureQueriesContext) would format and
    store every statement inside the timing, and so charge the side that sends more statements (usually the
    baseline) for the measuring itself."""
    times = []
    queries = 0
    for _ in range(repeat):
        if setup:
            setup()
        gc.collect()
        counter = StatementCounter()
        with connection.execute_wrapper(counter):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        queries = counter.sent
    return statistics.median(times), queries


@dataclass
class Paired:
    ours_s: float
    baseline_s: float
    queries: int
    round_ratios: list[float]


def paired(
    ours: Callable[[], object],
    baseline: Callable[[], object],
    *,
    setup: Callable[[], object] | None = None,
    repeat: int = 3,
) -> Paired:
    """Ours and the baseline in alternating rounds (setup, ours, setup, baseline), so a burst of load from other
    processes falls on both sides of a round instead of on all of one side's runs. Gives the median time of each
    side, the statements ours sent in its last round, and each round's ratio: the spread a reader needs to judge
    a ratio measured on a shared machine."""
    ours_times: list[float] = []
    baseline_times: list[float] = []
    queries = 0
    for _ in range(repeat):
        ours_s, queries = timed(ours, setup=setup, repeat=1)
        baseline_s, _ = timed(baseline, setup=setup, repeat=1)
        ours_times.append(ours_s)
        baseline_times.append(baseline_s)
    ratios = [round(o / b, 3) for o, b in zip(ours_times, baseline_times, strict=True) if b]
    return Paired(statistics.median(ours_times), statistics.median(baseline_times), queries, ratios)


SIZE_ORDER = ["tiny", "S", "M", "L"]
GROWTH_GOAL = 1.3


@dataclass
class Growth:
    record: str
    unit: str
    size: str  # the bigger size
    than: str  # the smaller size it is compared with
    ratio: float
    goal: float = GROWTH_GOAL

    @property
    def ok(self) -> bool:
        return self.ratio <= self.goal


def growth(by_size: dict[str, dict[str, dict[str, float]]], size: str) -> list[Growth]:
    """The growth checks of issue 24: each record's per-unit figures at `size` over the same figures at every
    smaller size measured (`by_size`: size -> record -> unit -> value, as run.py stores them per size). A ratio
    above GROWTH_GOAL means the unit cost grows with the firm."""
    here = by_size.get(size, {})
    out = []
    for smaller in SIZE_ORDER[: SIZE_ORDER.index(size)]:
        there = by_size.get(smaller, {})
        for name, units in here.items():
            for unit, value in units.items():
                before = there.get(name, {}).get(unit)
                if before:
                    out.append(Growth(name, unit, size, smaller, round(value / before, 3)))
    return out
