"""Short-lived shared results for the pages that compute over a whole firm and show every reader the same thing
(the exception queue's rule items, the executive dashboard, the staffing heatmap).

At 16 concurrent readers on two cores a page must cost about 10 ms of server time; these cost 100-500 ms at a
500-consultant firm. The first reader computes the result and stores it in the cache (Redis in production, so
every gunicorn worker shares it) with the time it was computed; the others reuse it for at most
PSA_PAGE_CACHE_SECONDS (60 by default; 0 turns the reuse off). Each page shows that time, so a figure is never
older than the page says. What differs per reader (role trimming, dismissals, paging) is applied after the
shared part, on every request.

Read-your-writes: after a user's successful write (a non-safe method answered below 400, e.g. starting the
invoice run an exception pointed to) `FreshAfterWriteMiddleware` sets a signed cookie, and for the next
PSA_PAGE_CACHE_SECONDS that user's views compute afresh (`fresh=wrote_recently(request)`) and store what they
computed, so the fix shows at once for them and from then on for everyone. Other users' writes are seen within
the bound.

`stamped_result` is the exact kind: a result reused only while a stamp of the data it reads is unchanged (the
ledger's line sums under the journal's counters, ledger.sql.journal_stamp), so it is never older than the data
and needs no note on the page.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from psa.conf import settings_value
from psa.core.write_marks import SAFE_METHODS, WriteMark

KEY_PREFIX = "pagecache:v1:"
FRESH_COOKIE = "psa_fresh_until"
_FRESH_SALT = "psa.core.pagecache.fresh"


@dataclass(frozen=True)
class Shared[T]:
    value: T
    computed_at: datetime
    seconds: int  # how long it is reused; 0 when computed for this request only

    @property
    def reused(self) -> bool:
        return self.seconds > 0

    @property
    def as_of(self) -> datetime | None:
        """When the result was computed, for the page's note; None when it is this request's alone (no note)."""
        return self.computed_at if self.reused else None


def shared_result[T](key: str, compute: Callable[[], T], *, fresh: bool = False) -> Shared[T]:
    """`compute()`'s result stored under `key` for PSA_PAGE_CACHE_SECONDS, or the stored one while it lasts
    (`fresh`: compute and store anew regardless). `key` must name every input of `compute` (dates, filters): one
    key, one result for every reader."""
    seconds = int(settings_value("PSA_PAGE_CACHE_SECONDS"))
    if seconds <= 0:
        return Shared(compute(), timezone.now(), 0)
    full = KEY_PREFIX + key
    found = None if fresh else cache.get(full)
    if isinstance(found, Shared):
        return found
    result = Shared(compute(), timezone.now(), seconds)
    cache.set(full, result, seconds)
    return result


STAMPED_SECONDS = 600  # how long an exact result is kept in the cache (it is never stale; this bounds the memory)


def stamped_result[T](key: str, stamp: str | None, compute: Callable[[], T]) -> T:
    """`compute()`'s result, stored under `key` and `stamp` and reused while the stamp is unchanged. `stamp` must
    change with every change to the data `compute` reads, and be read before it (a result stored under a stamp
    then holds that state or a later committed one, never an earlier); None computes without reuse (the caller
    cannot stamp the data, e.g. inside a transaction whose own writes are not committed yet). `key` names every
    input of `compute`. The result must pickle."""
    if stamp is None:
        return compute()
    full = f"{KEY_PREFIX}stamped:{stamp}:{key}"
    found = cache.get(full)
    if found is not None:
        return cast(T, found)
    result = compute()
    cache.set(full, result, STAMPED_SECONDS)
    return result


FRESH = WriteMark(FRESH_COOKIE, _FRESH_SALT)


def wrote_recently(request: HttpRequest) -> bool:
    """Whether this request is a write (a page a POST answers with, e.g. the board after a move, shows its own
    effect) or this browser made a successful write less than PSA_PAGE_CACHE_SECONDS ago (its signed cookie)."""
    return request.method not in SAFE_METHODS or FRESH.until(request) > time.time()


class FreshAfterWriteMiddleware:
    """After a successful write, the user's shared pages compute afresh for PSA_PAGE_CACHE_SECONDS (a signed
    cookie carries until when)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        FRESH.mark_after_write(request, response, int(settings_value("PSA_PAGE_CACHE_SECONDS")))
        return response
