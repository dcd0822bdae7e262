"""Domain errors: the one way services refuse.

Each error carries a stable `code`, a human `message`, optional `fields` (field name -> list of messages) and
the HTTP status it maps to. The DRF exception handler (psa.core.api) and the form helper (psa.core.forms)
turn them into `{"code", "message", "fields"}` responses and inline form errors.

Status use: 400 the input is wrong; 403 the role may not do it; 404 no such object in the caller's scope;
409 the input is fine but conflicts with the current state (wrong status, already done, key reused); 413 an
upload over its size limit.
"""

from collections.abc import Mapping, Sequence


class DomainError(Exception):
    code = "invalid"
    status = 400
    default_message = "The request is not valid."

    def __init__(
        self,
        message: str | None = None,
        *,
        fields: Mapping[str, Sequence[str] | str] | None = None,
        code: str | None = None,
    ) -> None:
        self.message = message or self.default_message
        if code:
            self.code = code
        self.fields: dict[str, list[str]] = {
            name: [msgs] if isinstance(msgs, str) else list(msgs) for name, msgs in (fields or {}).items()
        }
        super().__init__(self.message)

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "fields": self.fields}


class ValidationFailed(DomainError):
    code = "validation_failed"
    default_message = "Some fields are not valid."


class MissingFields(ValidationFailed):
    code = "missing_fields"
    default_message = "Required fields are missing."


class PayloadTooLarge(DomainError):
    """An upload over its kind's size limit (psa.core.uploads)."""

    code = "too_large"
    status = 413
    default_message = "The upload is too large."


class PermissionDeniedError(DomainError):
    code = "permission_denied"
    status = 403
    default_message = "Your role does not allow this."


class NotFoundError(DomainError):
    code = "not_found"
    status = 404
    default_message = "Not found."


class LockedOut(DomainError):
    """Sign-in refused after too many failures (the lockout in psa.core.lockout)."""

    code = "locked_out"
    status = 429
    default_message = "Too many failed sign-ins: try again later or ask an administrator to unlock the account."


class ConflictError(DomainError):
    code = "conflict"
    status = 409
    default_message = "The request conflicts with the current state."


class InvalidTransition(ConflictError):
    code = "invalid_transition"
    default_message = "This status change is not allowed."


class PeriodClosed(ConflictError):
    code = "period_closed"
    default_message = "The accounting period is closed."


class AlreadyBilled(ConflictError):
    code = "already_billed"
    default_message = "This item has already been billed."


class IdempotencyConflict(ConflictError):
    code = "idempotency_conflict"
    default_message = "This Idempotency-Key was already used with a different request."


class IdempotencyInProgress(ConflictError):
    code = "idempotency_in_progress"
    default_message = "A request with this Idempotency-Key is still being processed."


def ensure_transition(current: str, target: str, allowed: Mapping[str, Sequence[str]]) -> None:
    """Refuse a status change that the transitions table does not list."""
    if target not in allowed.get(current, ()):
        raise InvalidTransition(
            f"Cannot change status from '{current}' to '{target}'.",
            fields={"status": [f"'{current}' can move to: {', '.join(allowed.get(current, ())) or 'nothing'}."]},
        )
