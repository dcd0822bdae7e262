"""Short-lived shared results for the pages that compute over a whole firm and show every reader the same thing
(the exception queue's rule items, the executive dashboard, the staffing heatmap).

At 16 concurrent readers on two cores a page must cost about 10 ms of server time; these cost 100-500 ms at a
500-consultant firm. The first reader computes the result and stores it in the cache (Redis in production, so
every gunicorn worker shares it) with the time it was computed; the others reuse it for at most
PSA_PAGE_CACHE_SECONDS (60 by default; 0 turns the reuse off). Each page shows that time, so a figure is never
older than the page says. What differs per reader (role trimming, dismissals, paging) is applied after the
shared part, on every request. There is no invalidation on writes: the bound is the guarantee.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.utils import timezone

from psa.conf import settings_value

KEY_PREFIX = "pagecache:v1:"


@dataclass(frozen=True)
class Shared[T]:
    value: T
    computed_at: datetime
    seconds: int  # how long it is reused; 0 when computed for this request only

    @property
    def reused(self) -> bool:
        return self.seconds > 0


def shared_result[T](key: str, compute: Callable[[], T]) -> Shared[T]:
    """`compute()`'s result stored under `key` for PSA_PAGE_CACHE_SECONDS, or the stored one while it lasts.
    `key` must name every input of `compute` (dates, filters): one key, one result for every reader."""
    seconds = int(settings_value("PSA_PAGE_CACHE_SECONDS"))
    if seconds <= 0:
        return Shared(compute(), timezone.now(), 0)
    full = KEY_PREFIX + key
    found = cache.get(full)
    if isinstance(found, Shared):
        return found
    result = Shared(compute(), timezone.now(), seconds)
    cache.set(full, result, seconds)
    return result
