"""The read replica (DATABASE_REPLICA_URL): which reads may go to the streaming copy, and when they may not.

Nothing goes to the replica by default. A report or list view asks for it explicitly with `@reads_from_replica`
(or a selector with the `reads_from_replica()` context manager); inside that scope the router sends the reads of
the project's own models to the replica. Everything else reads and writes the primary, and so does a scope that
is entered when:
- the user wrote a moment ago (read-your-writes): a successful POST/PUT/PATCH/DELETE sets a signed cookie and the
  user's reports read the primary for PSA_REPLICA_STICKY_SECONDS;
- the replica is behind by more than PSA_REPLICA_MAX_LAG_SECONDS, or cannot be reached;
- a transaction is open on the primary (`atomic`, `select_for_update`: those are writes and go to the primary).
When a page is served from the replica it says so with the time its figures are complete up to ("Figures as of
HH:MM:SS", the `replica_note` context processor), so a report never shows a figure older than the bound without
saying so.

The lag is measured as "up to when does the replica hold every commit of the primary": the primary's WAL position
is read first; if the replica has replayed at least that far it holds everything committed before that moment
(right for an idle primary too, where the last replayed commit may be hours old), else it holds everything up to
its last replayed commit. The answer is cached per process for PSA_REPLICA_LAG_CHECK_MS, so the check costs two
small queries per process per interval, not per request. Without DATABASE_REPLICA_URL none of this runs: no
router, the middleware removes itself, the decorator calls the view as it is.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone

from psa.core.write_marks import WriteMark

logger = logging.getLogger(__name__)

REPLICA = "replica"
STICKY_COOKIE = "psa_primary_until"
_STICKY_SALT = "psa.core.replica.sticky"
# The apps whose reads a replica scope may route: the project's own data. Sign-in, sessions, lockout and tokens
# always read the primary (a session made a moment ago must never look missing).
REPLICA_APPS = frozenset({"core", "web", "crm", "projects", "ledger", "billing"})


@dataclass(frozen=True)
class ReplicaRead:
    """Where one scope reads: `alias` is the replica or the primary; `as_of` (replica only) is the time up to
    which the replica holds every commit; `reason` says why the primary was chosen, for logs and tests."""

    alias: str
    as_of: datetime | None = None
    reason: str = ""


_scope = threading.local()


def current_read() -> ReplicaRead | None:
    """The innermost replica scope of this thread, if any."""
    stack = getattr(_scope, "stack", None)
    return stack[-1] if stack else None


def replica_configured() -> bool:
    return REPLICA in connections.settings


# --- lag --------------------------------------------------------------------------------------------------
_lag_lock = threading.Lock()
_lag_cache: tuple[float, datetime | None] | None = None


def _measure() -> datetime | None:
    """The time up to which the replica holds every commit of the primary, or None if it cannot be told."""
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text, clock_timestamp()")
            primary_lsn, checked_at = cursor.fetchone()
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(), coalesce(pg_last_wal_replay_lsn() >= %s::pg_lsn, false),"
                " pg_last_xact_replay_timestamp()",
                [primary_lsn],
            )
            in_recovery, caught_up, replayed_at = cursor.fetchone()
    except DatabaseError as error:
        logger.warning("replica: lag check failed, reports read the primary: %s", error)
        return None
    if not in_recovery:
        logger.warning("replica: %s is not a standby, reports read the primary", connections[REPLICA].settings_dict)
        return None
    return checked_at if caught_up else replayed_at


def replica_as_of() -> datetime | None:
    """`_measure()`, cached per process for PSA_REPLICA_LAG_CHECK_MS."""
    global _lag_cache
    now = time.monotonic()
    with _lag_lock:
        cached = _lag_cache
        if cached is not None and now - cached[0] < settings.PSA_REPLICA_LAG_CHECK_MS / 1000:
            return cached[1]
    as_of = _measure()
    with _lag_lock:
        _lag_cache = (now, as_of)
    return as_of


def replica_lag_forget() -> None:
    """Drop the cached lag (tests, and after the replica alias is changed)."""
    global _lag_cache
    with _lag_lock:
        _lag_cache = None


# --- read-your-writes -------------------------------------------------------------------------------------
STICKY = WriteMark(STICKY_COOKIE, _STICKY_SALT)


def sticky_until(request: HttpRequest) -> float:
    """Until when (epoch seconds) this browser reads the primary after its last write; 0 when it does not."""
    return STICKY.until(request)


class ReplicaStickyMiddleware:
    """After a successful write (a non-safe method answered below 400) the user's next reports read the primary
    for PSA_REPLICA_STICKY_SECONDS: a signed cookie carries the time until which they do. Removes itself when
    no replica is configured."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        if not replica_configured():
            raise MiddlewareNotUsed("no DATABASE_REPLICA_URL")
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        STICKY.mark_after_write(request, response, settings.PSA_REPLICA_STICKY_SECONDS)
        return response


# --- the scope --------------------------------------------------------------------------------------------
def choose_read(request: HttpRequest | None = None) -> ReplicaRead:
    """Where a report scope entered now reads (see the module docstring for the rules, in this order)."""
    if not replica_configured():
        return ReplicaRead(DEFAULT_DB_ALIAS, reason="no replica")
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return ReplicaRead(DEFAULT_DB_ALIAS, reason="transaction")
    if request is not None and sticky_until(request) > time.time():
        return ReplicaRead(DEFAULT_DB_ALIAS, reason="recent write")
    as_of = replica_as_of()
    if as_of is None:
        return ReplicaRead(DEFAULT_DB_ALIAS, reason="replica unavailable")
    if timezone.now() - as_of > timedelta(seconds=settings.PSA_REPLICA_MAX_LAG_SECONDS):
        return ReplicaRead(DEFAULT_DB_ALIAS, reason="replica behind")
    return ReplicaRead(REPLICA, as_of=as_of)


@contextmanager
def _entered(read: ReplicaRead) -> Iterator[ReplicaRead]:
    stack = getattr(_scope, "stack", None)
    if stack is None:
        stack = _scope.stack = []
    stack.append(read)
    try:
        yield read
    finally:
        stack.pop()


@contextmanager
def reads_from_replica(request: HttpRequest | None = None) -> Iterator[ReplicaRead]:
    """Route the reads inside to the replica when it may serve them (a report or list selector); yields where
    they go. Without a replica this yields the primary and routes nothing."""
    with _entered(choose_read(request)) as read:
        yield read


def _streamed(content: Iterator[Any], read: ReplicaRead) -> Iterator[Any]:
    # A streamed download runs its queries while the server iterates, after the view returned: each chunk is
    # produced inside the scope the view chose.
    iterator = iter(content)
    while True:
        with _entered(read):
            try:
                chunk = next(iterator)
            except StopIteration:
                return
        yield chunk


def replica_view[V: Callable[..., Any]](view: V) -> V:
    """Decorate a read-only report or list view (function, or method taking `request` after `self`): its reads
    go to the replica when it may serve them, and the request carries the choice for the page's "figures as of"
    note. Put it innermost, below the role check, so sign-in and roles read the primary."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not replica_configured():
            return view(*args, **kwargs)
        request = args[0] if hasattr(args[0], "COOKIES") else args[1]
        with reads_from_replica(request) as read:
            request.psa_replica_read = read
            response = view(*args, **kwargs)
        if isinstance(response, StreamingHttpResponse) and not response.is_async and read.alias == REPLICA:
            response.streaming_content = _streamed(cast(Iterator[bytes], response.streaming_content), read)
        return response

    return wrapped  # type: ignore[return-value]


def read_connection(model: Any) -> BaseDatabaseWrapper:
    """The connection a read of `model` goes to: what the router picks for the ORM (the replica inside a replica
    scope, else the primary). Hand-written SQL that reads for a report opens its cursor here so it follows the
    same rules; SQL that writes or locks keeps `django.db.connection`."""
    return connections[router.db_for_read(model)]


def replica_note(request: HttpRequest) -> dict[str, Any]:
    """Context processor: `replica_as_of` when the page's figures come from the replica."""
    read = getattr(request, "psa_replica_read", None)
    return {"replica_as_of": read.as_of if read is not None and read.alias == REPLICA else None}


class ReplicaRouter:
    """Reads of the project's models inside a replica scope go to the replica; every other read, every write and
    every migration stay on the primary. Installed by psa/settings.py only when DATABASE_REPLICA_URL is set."""

    def db_for_read(self, model: Any, **hints: Any) -> str:
        read = current_read()
        if (
            read is not None
            and read.alias == REPLICA
            and model._meta.app_label in REPLICA_APPS
            and not connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: Any, **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        both = {obj1._state.db, obj2._state.db}
        return True if both <= {DEFAULT_DB_ALIAS, REPLICA} else None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return False if db == REPLICA else None
