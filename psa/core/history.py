"""The one history of master and financial data: PostgreSQL triggers (django-pghistory) write an event row for
every insert, update and delete of a tracked model, whatever wrote it — `save()`, `QuerySet.update()`,
`bulk_create()` or one hand-written SQL statement (a billing run's draft). Each app tracks its own models with
`@tracked()` and migrates its own event tables (`<Model>Event`, in the same app).

Who and why: the context of an event (`pghistory.Context`, one row per request or job) holds `user` (the acting
user's id), `request_id` and `url` for a web or API request (`HistoryMiddleware` below) and `correlation_id` for
the service that wrote (`@history_context(...)`: a billing or recognition run, an import, an invoice issued, a
rate added; `acting(...)` for a service that learns its user late). The context travels as a transaction-local
PostgreSQL setting sent before each statement, so raw SQL in the same transaction carries it too.

On SQLite (the zero-setup demo) pgtrigger installs nothing: the event tables exist and stay empty, and no context
is sent (pghistory's statement wrapper reads psycopg's connection state, so `acting` and the middleware step
aside).

`AuditEvent` (psa.core.audit) remains for actions that are not a row change (approved N entries, replayed a
webhook).
"""

import contextlib
import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

import pghistory
from django.db import connection
from pghistory.middleware import HistoryMiddleware as _PgHistoryMiddleware

# The event labels pghistory writes, in the words the audit trail shows.
INSERT, UPDATE, DELETE = "insert", "update", "delete"


def tracked(**options: Any):
    """`pghistory.track` with a snapshot on insert, update (when a tracked column changed) and delete."""
    return pghistory.track(
        pghistory.InsertEvent(INSERT), pghistory.UpdateEvent(UPDATE), pghistory.DeleteEvent(DELETE), **options
    )


def recording() -> bool:
    """True where triggers record history (PostgreSQL)."""
    return connection.vendor == "postgresql"


def acting(*, by: Any = None, correlation_id: str = "") -> contextlib.AbstractContextManager:
    """The history context of a job's writes: the acting user (a user, an id or None for the system) and the
    job's correlation id. Nested inside a request's context it adds to it (the request's user stays unless
    `by` is given)."""
    metadata: dict[str, Any] = {}
    if by is not None:
        metadata["user"] = getattr(by, "pk", by)
    if correlation_id:
        metadata["correlation_id"] = correlation_id
    if not recording():
        return contextlib.nullcontext()
    return pghistory.context(**metadata)


def history_context(name: str, *, key: str | None = None, by: str | None = None) -> Callable:
    """Decorator for a service (a billing or recognition run, an import, an invoice issued): its writes share
    one history context with the correlation id `<name>:<the call's `key` argument>` (or `<name>:<a new id>`)
    and the acting user of its `by` argument; inside a request's context they add to it. A service that learns
    its user only from the row it loads (a run's `created_by`) adds it with `acting(by=...)` called without
    `with`, which adds to the open context."""

    def decorate(service: Callable) -> Callable:
        @wraps(service)
        def run(*args: Any, **kwargs: Any) -> Any:
            correlation_id = f"{name}:{kwargs[key]}" if key else f"{name}:{uuid.uuid4().hex[:12]}"
            with acting(by=kwargs.get(by) if by else None, correlation_id=correlation_id):
                return service(*args, **kwargs)

        return run

    return decorate


class HistoryMiddleware(_PgHistoryMiddleware):
    """pghistory's request context (user, url) plus the request's id: the caller's `X-Request-ID` header when
    it sends one, else a new id."""

    def __call__(self, request):
        if not recording():
            return self.get_response(request)
        return super().__call__(request)

    def get_context(self, request) -> dict[str, Any]:
        context = super().get_context(request)
        context["request_id"] = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        return context
