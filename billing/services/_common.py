"""Helpers shared by the billing services: role checks, locked loads, history rows."""

from django.contrib.auth.models import User
from django.db import models

from billing.models import Invoice, InvoiceHistory
from psa.core.exceptions import NotFoundError, PermissionDeniedError
from psa.core.roles import Role, has_role

FINANCE_ROLES = (Role.FINANCE, Role.ADMIN)


def require_finance(by: User | None) -> None:
    """Billing writes are finance's (and admins'); the system (by=None) may run jobs."""
    if by is not None and not has_role(by, *FINANCE_ROLES):
        raise PermissionDeniedError("Only finance may do this.")


def locked[M: models.Model](model: type[M], pk: int, label: str) -> M:
    obj = model._default_manager.select_for_update().filter(pk=pk).first()
    if obj is None:
        raise NotFoundError(f"No {label} with id {pk}.")
    return obj


def history(invoice: Invoice, *, by: User | None, from_status: str, note: str = "") -> None:
    InvoiceHistory.objects.create(
        invoice=invoice,
        by=by if getattr(by, "is_authenticated", False) else None,
        from_status=from_status,
        to_status=invoice.status,
        note=note[:300],
    )
