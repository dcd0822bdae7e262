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
    ratio: float = field(init=False)

    def __post_init__(self) -> None:
        self.ratio = round(self.ours_s / self.baseline_s, 3) if self.baseline_s else float("inf")
        self.ours_s = round(self.ours_s, 4)
        self.baseline_s = round(self.baseline_s, 4)

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
