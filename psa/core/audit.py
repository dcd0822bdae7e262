"""The audit log: services record who did what, inside their own transaction."""

from django.db import models

from psa.core.models import AuditEvent


def audit_record(
    *,
    actor,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    summary: str,
    data: dict | None = None,
) -> AuditEvent:
    """Append one audit event. `obj` names the object; or pass `object_type`/`object_id` explicitly."""
    if obj is not None:
        object_type = obj._meta.label_lower
        object_id = obj.pk
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        summary=summary[:300],
        data=data or {},
    )


def audit_for(obj: models.Model, limit: int = 50):
    """The latest events of one object, newest first."""
    return AuditEvent.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)).select_related("actor")[
        :limit
    ]
