"""The audit trail of master and financial data: who changed what and when, read from django-simple-history.

Served by psa/web as an HTMX fragment (`/audit/<target>/<pk>/fragment/`) that the owning app's page loads with
one `hx-get` line, and as a full page (`/audit/<target>/<pk>/`) for pages that do not include it (invoices).
Without a pk the fragment lists the latest changes of every object of that kind (e.g. all periods).

Covered: every `save()`/`delete()` of the models registered in psa/web/models.py (AUDITED). Not covered:
set-based `QuerySet.update()` and `bulk_create()`; see that module's docstring.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import models
from django.http import Http404
from django.utils.functional import Promise

from billing.models import Invoice, Payment, WriteOff
from crm.models import Account
from ledger.models import AccountingPeriod, LedgerAccount
from projects.models import ChangeOrder, ChangeOrderLine, Contract, ContractLine, RateCard, RateCardLine
from projects.models_time import Consultant
from psa.core.roles import COST_ROLES, RATE_ROLES, Role
from psa.web.models import HISTORY_MANAGER

FINANCE = (Role.FINANCE, Role.ADMIN)


@dataclass(frozen=True)
class Target:
    """One kind of object whose history can be shown, who may see it, and the child rows shown with it."""

    model: type[models.Model]
    roles: tuple[Role, ...]
    # (child model, field on the child pointing at the parent, or a lookup path)
    children: tuple[tuple[type[models.Model], str], ...] = ()


TARGETS: dict[str, Target] = {
    "contract": Target(
        Contract,
        tuple(RATE_ROLES),
        ((ContractLine, "contract_id"), (ChangeOrder, "contract_id"), (ChangeOrderLine, "change_order__contract_id")),
    ),
    "ratecard": Target(RateCard, tuple(RATE_ROLES), ((RateCardLine, "rate_card_id"),)),
    "changeorder": Target(ChangeOrder, tuple(RATE_ROLES), ((ChangeOrderLine, "change_order_id"),)),
    "invoice": Target(Invoice, FINANCE, ((WriteOff, "invoice_id"),)),
    "payment": Target(Payment, FINANCE),
    "period": Target(AccountingPeriod, FINANCE),
    "ledgeraccount": Target(LedgerAccount, FINANCE),
    "account": Target(Account, (Role.SALES, Role.PROJECT_MANAGER, Role.FINANCE, Role.ADMIN)),
    "consultant": Target(Consultant, tuple(COST_ROLES)),
    "user": Target(get_user_model(), (Role.ADMIN,)),
    "role": Target(Group, (Role.ADMIN,)),
}

KIND_LABELS = {"+": "created", "~": "changed", "-": "deleted"}


@dataclass
class Change:
    at: datetime
    user: str
    kind: str
    object_label: str
    object_type: str
    reason: str
    fields: Sequence[tuple[str | Promise, str, str]] = field(default_factory=list)  # (field label, old, new)


def _fmt(value) -> str:
    if value is None or value == "":
        return "—"
    return str(value)


def _object_label(record) -> str:
    """A name read from the record's own columns (str() of the instance could query related rows)."""
    for name in ("number", "name", "title", "description", "username", "code"):
        value = getattr(record, name, None)
        if value:
            return f"{value} (#{record.id})"
    return f"#{record.id}"


def _tracked_fields(model) -> list[models.Field]:
    history_model = getattr(model, HISTORY_MANAGER).model
    names = {f.attname for f in history_model._meta.concrete_fields}
    return [f for f in model._meta.concrete_fields if f.attname in names]


def _changes_for(model, records: list) -> list[Change]:
    """Diff each history record against the previous record of the same object (records are newest first and
    hold, for every object, one record more than shown when one exists, so the oldest shown still diffs)."""
    fields = _tracked_fields(model)
    by_object: dict[int, list] = defaultdict(list)
    for r in records:
        by_object[r.id].append(r)
    out = []
    label = model._meta.verbose_name
    for history in by_object.values():
        for i, record in enumerate(history):
            previous = history[i + 1] if i + 1 < len(history) else None
            diffs = []
            if record.history_type == "~" and previous is not None:
                for f in fields:
                    old, new = getattr(previous, f.attname), getattr(record, f.attname)
                    if old != new:
                        diffs.append((f.verbose_name, _fmt(old), _fmt(new)))
            elif record.history_type == "+" or previous is None:
                # a creation, or the first change seen of a row made by bulk_create (no creation record): the values
                diffs = [
                    (f.verbose_name, "", _fmt(getattr(record, f.attname)))
                    for f in fields
                    if not f.primary_key and getattr(record, f.attname) not in (None, "")
                ]
            if record.history_type == "~" and previous is not None and not diffs:
                continue  # a save that changed nothing tracked
            user = record.history_user
            out.append(
                Change(
                    at=record.history_date,
                    user=(user.get_full_name() or user.get_username()) if user else "system",
                    kind=KIND_LABELS.get(record.history_type, record.history_type),
                    object_label=_object_label(record),
                    object_type=label,
                    reason=record.history_change_reason or "",
                    fields=diffs,
                )
            )
    return out


def audit_trail(*, target: str, pk: int | None, limit: int = 50) -> tuple[Target, list[Change]]:
    """The latest `limit` changes of one object and its child rows (or of all objects of the kind when `pk` is
    None), newest first. One query per model involved (the object plus its children), whatever the history
    length."""
    spec = TARGETS.get(target)
    if spec is None:
        raise Http404("No audit trail for this kind of object.")
    if pk is not None and not spec.model._default_manager.filter(pk=pk).exists():
        raise Http404("No such object.")
    sources = [(spec.model, "id"), *spec.children]
    changes: list[Change] = []
    for model, path in sources:
        qs = getattr(model, HISTORY_MANAGER).select_related("history_user").order_by("-history_date", "-history_id")
        if pk is not None:
            qs = qs.filter(**{path: pk})
        # one record beyond the limit so the oldest shown change still has its predecessor to diff against
        changes.extend(_changes_for(model, list(qs[: limit + 1])))
    changes.sort(key=lambda c: c.at, reverse=True)
    return spec, changes[:limit]
