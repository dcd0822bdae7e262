"""The audit trail of master and financial data: who changed what and when, read from the trigger-written history
(django-pghistory, psa.core.history).

Served by psa/web as an HTMX fragment (`/audit/<target>/<pk>/fragment/`) that the owning app's page loads with
one `hx-get` line, and as a full page (`/audit/<target>/<pk>/`) for pages that do not include it (invoices).
Without a pk the fragment lists the latest changes of every object of that kind (e.g. all periods).

Covered: every insert, update and delete of the tracked models (each app's `@tracked()` models), however it was
written — `save()`, `QuerySet.update()`, `bulk_create()`, or one SQL statement such as a billing run's draft.
The person is the context's `user` (the request's, or the acting user a job's service names); foreign keys are
shown by name (an account's name, an invoice's number, a user's full name), never as raw ids.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import models
from django.http import Http404
from django.utils.functional import Promise

from billing.models import Invoice, InvoiceLine, Payment, WriteOff
from crm.models import Account
from ledger.models import AccountingPeriod, LedgerAccount
from projects.models import ChangeOrder, ChangeOrderLine, Consultant, Contract, ContractLine, RateCard, RateCardLine
from psa.core.dateformat import format_day, format_day_time
from psa.core.history import DELETE, INSERT, UPDATE
from psa.core.roles import COST_ROLES, RATE_ROLES, Role

FINANCE = (Role.FINANCE, Role.ADMIN)
User = get_user_model()


def _related(model: type[models.Model], name: str) -> type[models.Model]:
    """The model behind a reverse relation (the payment allocations, a consultant's cost rates), named by the
    relation so this module does not depend on those models' class names."""
    related = model._meta.get_field(name).related_model
    assert related is not None  # `name` is a relation
    return related


@dataclass(frozen=True)
class Target:
    """One kind of object whose history can be shown, who may see it, and the child rows shown with it."""

    model: type[models.Model]
    roles: tuple[Role, ...]
    # (child model, field on the child's event pointing at the parent, or a lookup path)
    children: tuple[tuple[type[models.Model], str], ...] = ()


TARGETS: dict[str, Target] = {
    "contract": Target(
        Contract,
        tuple(RATE_ROLES),
        ((ContractLine, "contract_id"), (ChangeOrder, "contract_id"), (ChangeOrderLine, "change_order__contract_id")),
    ),
    "ratecard": Target(RateCard, tuple(RATE_ROLES), ((RateCardLine, "rate_card_id"),)),
    "changeorder": Target(ChangeOrder, tuple(RATE_ROLES), ((ChangeOrderLine, "change_order_id"),)),
    "invoice": Target(
        Invoice,
        FINANCE,
        ((InvoiceLine, "invoice_id"), (WriteOff, "invoice_id"), (_related(Invoice, "allocations"), "invoice_id")),
    ),
    "payment": Target(Payment, FINANCE, ((_related(Payment, "allocations"), "payment_id"),)),
    "period": Target(AccountingPeriod, FINANCE),
    "ledgeraccount": Target(LedgerAccount, FINANCE),
    "account": Target(Account, (Role.SALES, Role.PROJECT_MANAGER, Role.FINANCE, Role.ADMIN)),
    "consultant": Target(Consultant, tuple(COST_ROLES), ((_related(Consultant, "cost_rates"), "consultant_id"),)),
    "user": Target(User, (Role.ADMIN,), ((User.groups.through, "user_id"),)),
    "role": Target(Group, (Role.ADMIN,)),
}

KIND_LABELS = {INSERT: "created", UPDATE: "changed", DELETE: "deleted"}
_NO_OLD = object()  # the "old value" of a field shown with its first value (no old value is struck out)


@dataclass
class Change:
    at: datetime
    user: str
    kind: str
    object_label: str
    object_type: str | Promise
    reason: str
    fields: Sequence[tuple[str | Promise, str, str]] = field(default_factory=list)  # (field label, old, new)


def event_model(model: type[models.Model]) -> type[models.Model]:
    """The pghistory event model of a tracked model (its `events` relation)."""
    return _related(model, "events")


def _fmt(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, date | datetime):
        return format_day_time(value) if isinstance(value, datetime) else format_day(value)
    return str(value)


def _person(user) -> str:
    return user.get_full_name() or user.get_username()


def _label(record) -> str:
    """A name read from the row's own columns (str() of an instance could query related rows)."""
    if isinstance(record, User):
        return _person(record)
    for name in ("number", "name", "title", "description", "username", "code", "reference"):
        value = getattr(record, name, None)
        if value:
            return f"{value} (#{record.id})"
    return f"#{record.id}"


def _tracked_fields(model) -> list[models.Field]:
    names = {f.attname for f in event_model(model)._meta.concrete_fields}
    return [f for f in model._meta.concrete_fields if f.attname in names]


@dataclass
class _Names:
    """Names of the rows the shown foreign keys point at: one query per related model, whatever the history."""

    wanted: dict[type[models.Model], set] = field(default_factory=lambda: defaultdict(set))
    found: dict[tuple[type[models.Model], Any], str] = field(default_factory=dict)

    def want(self, f: models.Field, value) -> None:
        if f.is_relation and value is not None and value is not _NO_OLD:
            assert f.related_model is not None  # a relation field has one
            self.wanted[f.related_model].add(value)

    def load(self) -> None:
        for model, ids in self.wanted.items():
            for row in model._default_manager.filter(pk__in=ids):
                self.found[(model, row.pk)] = _label(row)

    def show(self, f: models.Field, value) -> str:
        if f.is_relation and value is not None:
            assert f.related_model is not None  # a relation field has one
            return self.found.get((f.related_model, value), f"#{value} (deleted)")
        if isinstance(f, models.DateTimeField | models.DateField) and isinstance(value, str):
            value = _parsed_day(f, value)
        return _fmt(value)


def _parsed_day(f: models.Field, value: str):
    """A stored date or timestamp (ISO text in the history row) as a date to show in the reader's format."""
    try:
        return datetime.fromisoformat(value) if isinstance(f, models.DateTimeField) else date.fromisoformat(value)
    except ValueError:
        return value


def _diffs(model, events: list) -> list[tuple[Any, list[tuple[models.Field, Any, Any]]]]:
    """Each event with its changed fields (field, old, new): an update against the previous event of the same
    object, a creation (or the oldest event shown, when its predecessor is beyond the limit) with its values.
    Events are newest first and hold, for every object, one event more than shown when one exists."""
    fields = [f for f in _tracked_fields(model) if not f.primary_key]
    by_object: dict[Any, list] = defaultdict(list)
    for e in events:
        by_object[e.pk_value].append(e)
    out = []
    for history in by_object.values():
        for i, event in enumerate(history):
            previous = history[i + 1] if i + 1 < len(history) else None
            if event.pgh_label == UPDATE and previous is not None:
                diffs = [
                    (f, getattr(previous, f.attname), getattr(event, f.attname))
                    for f in fields
                    if getattr(previous, f.attname) != getattr(event, f.attname)
                ]
                if not diffs:
                    continue  # a change of an untracked column only
            elif event.pgh_label == DELETE:
                diffs = []
            else:
                diffs = [
                    (f, _NO_OLD, getattr(event, f.attname))
                    for f in fields
                    if getattr(event, f.attname) not in (None, "")
                ]
            out.append((event, diffs))
    return out


def audit_trail(*, target: str, pk: int | None, limit: int = 50) -> tuple[Target, list[Change]]:
    """The latest `limit` changes of one object and its child rows (or of all objects of the kind when `pk` is
    None), newest first. One query per model involved (the object plus its children), one for the people and
    one per kind of row a shown foreign key points at, whatever the history length."""
    spec = TARGETS.get(target)
    if spec is None:
        raise Http404("No audit trail for this kind of object.")
    if pk is not None and not spec.model._default_manager.filter(pk=pk).exists():
        raise Http404("No such object.")
    found: list[tuple[type[models.Model], Any, list]] = []
    for model, path in [(spec.model, "pgh_obj_id"), *spec.children]:  # the tracked object's id (indexed)
        own_pk = model._meta.pk.attname
        qs = event_model(model)._default_manager.select_related("pgh_context").order_by("-pgh_created_at", "-pgh_id")
        if pk is not None:
            qs = qs.filter(**{path: pk})
        # one event beyond the limit so the oldest shown change still has its predecessor to diff against
        events: list[Any] = list(qs[: limit + 1])  # pghistory events, given a pk_value below
        for e in events:
            e.pk_value = getattr(e, own_pk)
        found.extend((model, event, diffs) for event, diffs in _diffs(model, events))

    names, user_ids = _Names(), set[int | None]()
    for _model, event, diffs in found:
        user_ids.add(_context(event).get("user"))
        for f, old, new in diffs:
            names.want(f, old)
            names.want(f, new)
    user_ids.discard(None)
    # the ids of the people: None (the system) discarded above
    people = {u.pk: _person(u) for u in User.objects.filter(pk__in=cast(set[int], user_ids))} if user_ids else {}
    names.load()

    changes = []
    for model, event, diffs in found:
        context = _context(event)
        user_id = context.get("user")
        assert model._meta.verbose_name is not None  # Options sets it (from the class name when Meta has none)
        changes.append(
            Change(
                at=event.pgh_created_at,
                user=people.get(user_id, f"user #{user_id}") if user_id is not None else "system",
                kind=KIND_LABELS.get(event.pgh_label, event.pgh_label),
                object_label=_label(event),
                object_type=model._meta.verbose_name,
                reason=context.get("reason", ""),
                fields=[
                    (f.verbose_name, "" if old is _NO_OLD else names.show(f, old), names.show(f, new))
                    for f, old, new in diffs
                ],
            )
        )
    changes.sort(key=lambda c: c.at, reverse=True)
    return spec, changes[:limit]


def _context(event) -> dict:
    return (event.pgh_context.metadata if event.pgh_context_id else None) or {}
