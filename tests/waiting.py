"""Waiting on a condition instead of sleeping: what another process or thread did (a worker, a browser's save,
a server starting) shows up asynchronously, so a test polls for the state it needs, with a generous deadline."""

import time
from collections.abc import Callable


def wait_for(predicate: Callable[[], object], timeout: float = 60.0, step: float = 0.1) -> bool:
    """Poll `predicate` until it is true (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())
