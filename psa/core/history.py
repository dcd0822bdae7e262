"""The one history of master and financial data: PostgreSQL triggers (django-pghistory) write an event row for
every insert, update and delete of a tracked model, whatever wrote it — `save()`, `QuerySet.update()`,
`bulk_create()` or one hand-written SQL statement (a billing run's draft). Each app tracks its own models with
`@tracked()` and migrates its own event tables (`<Model>Event`, in the same app).

Who and why: the context of an event (`pghistory.Context`, one row per request or job) holds `user` (the acting
user's id) and `correlation_id`. Web and API requests get it from `HistoryMiddleware` below; a job's service
opens `acting(by=..., correlation_id=...)` around its writes. The context travels as a transaction-local
PostgreSQL setting sent before each statement, so raw SQL in the same transaction carries it too.

On SQLite (the zero-setup demo) pgtrigger installs nothing: the event tables exist and stay empty.

`AuditEvent` (psa.core.audit) remains for actions that are not a row change (approved N entries, replayed a
webhook).
"""

import uuid
from typing import Any

import pghistory
from pghistory.middleware import HistoryMiddleware as _PgHistoryMiddleware

# The event labels pghistory writes, in the words the audit trail shows.
INSERT, UPDATE, DELETE = "insert", "update", "delete"


def tracked(**options: Any):
    """`pghistory.track` with a snapshot on insert, update (when a tracked column changed) and delete."""
    return pghistory.track(
        pghistory.InsertEvent(INSERT), pghistory.UpdateEvent(UPDATE), pghistory.DeleteEvent(DELETE), **options
    )


def acting(*, by: Any = None, correlation_id: str = "") -> pghistory.context:
    """The history context of a job's writes: the acting user (a user, an id or None for the system) and the
    job's correlation id. Nested inside a request's context it adds to it (the request's user stays unless
    `by` is given)."""
    metadata: dict[str, Any] = {}
    if by is not None:
        metadata["user"] = getattr(by, "pk", by)
    if correlation_id:
        metadata["correlation_id"] = correlation_id
    return pghistory.context(**metadata)


class HistoryMiddleware(_PgHistoryMiddleware):
    """pghistory's request context (user, url) plus a correlation id: the caller's `X-Request-ID` header when
    it sends one, else a new id."""

    def get_context(self, request) -> dict[str, Any]:
        context = super().get_context(request)
        context["correlation_id"] = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        return context
