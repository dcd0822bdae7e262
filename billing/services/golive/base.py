"""The go-live framework: the context an importer works in, the importer's shape, reading a file (CSV or XLSX
through psa.core.imports), the dry run, the all-or-nothing apply, and the rollback of a whole go-live.

An importer checks every row and names each bad one with the rule it breaks (`check` writes nothing), then
`apply` writes and records each object it created through `ctx.record(obj)` (a GoLiveObject), so a go-live that
is not complete can be rolled back as a whole, newest object first. Objects an import only updated (a customer
merged by tax id) are not recorded and stay as they are on rollback.
"""

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import IO, Protocol

from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.db.models import Max, ProtectedError, RestrictedError
from django.utils import timezone

from billing.choices import GOLIVE_TRANSITIONS, GoLiveStatus
from billing.models import GoLive, GoLiveImport, GoLiveObject
from psa.core.audit import audit_record
from psa.core.exceptions import ConflictError, InvalidTransition, NotFoundError, PermissionDeniedError, ValidationFailed
from psa.core.imports import ROW, AmountReader, ImportReport, RowResult, header_key, table_rows
from psa.core.roles import Role, has_role
from psa.core.uploads import MB, UploadLimit

GOLIVE_ROLES = (Role.FINANCE, Role.ADMIN)
UPLOAD_LIMIT = UploadLimit(kind="golive", label="go-live files", max_bytes=20 * MB, max_rows=200_000)
FILE_ROW = 0  # a RowResult about the file as a whole (a trial balance that does not balance) names row 0


@dataclass
class GoLiveContext:
    golive: GoLive
    user: User
    dry_run: bool
    golive_import: GoLiveImport | None = None
    _pending: list[tuple[type[models.Model], int]] = field(default_factory=list)
    _next_seq: int = 0

    def record(self, obj: models.Model) -> None:
        """Remember a created object, so a rollback removes it (written with the import, in creation order)."""
        if self.dry_run or self.golive_import is None:
            raise ConflictError("Objects are recorded only while an import is applied.")
        self._pending.append((type(obj), obj.pk))

    def record_many(self, objs: Iterable[models.Model]) -> None:
        for obj in objs:
            self.record(obj)

    def flush(self) -> None:
        """Write the recorded objects (one bulk insert at the end of the apply)."""
        if not self._pending:
            return
        start = (GoLiveObject.objects.filter(golive=self.golive).aggregate(m=Max("seq"))["m"] or 0) + 1
        types = ContentType.objects.get_for_models(*{model for model, _ in self._pending}, for_concrete_models=False)
        GoLiveObject.objects.bulk_create(
            GoLiveObject(
                golive=self.golive,
                golive_import=self.golive_import,
                content_type=types[model],
                object_id=pk,
                seq=start + i,
            )
            for i, (model, pk) in enumerate(self._pending)
        )
        self._pending.clear()


class Importer(Protocol):
    # read-only members (an importer states them as plain class attributes)
    @property
    def kind(self) -> str: ...

    @property
    def label(self) -> str: ...

    @property
    def columns(self) -> tuple[str, ...]:  # required headers, normalised like psa.core.imports (lower case, _)
        ...

    @property
    def optional_columns(self) -> tuple[str, ...]: ...

    def check(self, rows: list[dict], ctx: GoLiveContext) -> ImportReport: ...

    def apply(self, rows: list[dict], ctx: GoLiveContext) -> ImportReport: ...


# --- helpers the importers share -------------------------------------------------------------------------
def new_report(importer: Importer, ctx: GoLiveContext) -> ImportReport:
    return ImportReport(kind=importer.kind, dry_run=ctx.dry_run)


def row_error(row: dict | int, rule: str, reason: str, *, name: str = "", external_id: str = "") -> RowResult:
    """An error row: `rule` is its short name (unbalanced_trial_balance, unknown_account...), `reason` the
    sentence a finance user reads."""
    number = row if isinstance(row, int) else int(row.get(ROW, FILE_ROW))
    return RowResult(row=number, name=name, external_id=external_id, action="error", reason=reason, rule=rule)


def aliases_for(importer: Importer) -> dict[str, str]:
    """Header aliases: every column under its own name, plus the importer's own `aliases` if it has any."""
    aliases = {header_key(c): c for c in (*importer.columns, *importer.optional_columns)}
    aliases.update({header_key(k): v for k, v in getattr(importer, "aliases", {}).items()})
    return aliases


def amount_reader(rows: list[dict], columns: Iterable[str], convention: str = "auto") -> AmountReader:
    """One amount reader for the file's amount columns (the file's own decimal convention decides)."""
    cells = [(int(r[ROW]), r[c]) for r in rows for c in columns if r.get(c)]
    return AmountReader.for_cells(convention, cells)


def read_amount(
    reader: AmountReader, row: dict, column: str, problems: list[str], *, blank_zero: bool = True
) -> Decimal:
    """The cell's amount; a problem naming the column when it cannot be read (Decimal 0 then)."""
    text = str(row.get(column, "") or "")
    if not text:
        if not blank_zero:
            problems.append(f"column '{column}' is empty")
        return Decimal("0")
    try:
        return reader.read(text)
    except ValueError as exc:
        problems.append(f"column '{column}': {exc}")
        return Decimal("0")


def read_date(row: dict, column: str, problems: list[str], *, required: bool = True) -> date | None:
    """An ISO date cell (YYYY-MM-DD); a problem naming the column when it is missing or not a date."""
    text = str(row.get(column, "") or "")[:10]
    if not text:
        if required:
            problems.append(f"column '{column}' is empty")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(f"column '{column}': '{text}' is not a date written as YYYY-MM-DD")
        return None


# --- the service -----------------------------------------------------------------------------------------
def _require_finance(user: User) -> None:
    if not has_role(user, *GOLIVE_ROLES):
        raise PermissionDeniedError("Only finance or an administrator can run a go-live.")


def _importer(kind: str) -> Importer:
    from billing.services.golive import IMPORTERS  # the package lists the importers; it imports this module

    try:
        return IMPORTERS[kind]
    except KeyError:
        raise NotFoundError(
            f"Unknown import kind '{kind}'.", fields={"kind": [f"One of {', '.join(IMPORTERS)}."]}
        ) from None


def _content(file: bytes | IO[bytes] | IO[str]) -> tuple[bytes, str]:
    if isinstance(file, bytes | bytearray | memoryview):
        return bytes(file), ""
    name = getattr(file, "name", "") or ""
    if hasattr(file, "seek"):
        file.seek(0)
    data = file.read()
    return (data.encode() if isinstance(data, str) else bytes(data)), str(name).rsplit("/", 1)[-1]


def golive_open_for_imports(golive: GoLive) -> None:
    if golive.status not in (GoLiveStatus.DRAFT, GoLiveStatus.RECONCILED):
        raise InvalidTransition(f"The go-live is {golive.get_status_display().lower()}: nothing more can be imported.")


def golive_import(
    *, golive: GoLive, kind: str, file: bytes | IO[bytes], user: User, dry_run: bool, file_name: str = ""
) -> ImportReport:
    """Read the file (CSV or XLSX), check every row (the dry run stops there, having written nothing), and
    unless it is a dry run or a row is bad, apply the whole file in one transaction: all of it or none of it."""
    _require_finance(user)
    importer = _importer(kind)
    golive_open_for_imports(golive)
    content, name = _content(file)
    file_name = file_name or name
    rows = table_rows(
        content, aliases=aliases_for(importer), required=importer.columns, limit=UPLOAD_LIMIT, file_name=file_name
    )
    ctx = GoLiveContext(golive=golive, user=user, dry_run=True)
    with transaction.atomic():
        # The check writes nothing; rolling its savepoint back makes that so even if a lookup had a side effect.
        report = importer.check(rows, ctx)
        transaction.set_rollback(True)
    report.dry_run = dry_run
    _in_file_order(report)
    if dry_run or report.errors or not rows:
        if not rows:
            report.notes.append("The file has no rows.")
        return report
    return _apply(golive=golive, importer=importer, rows=rows, user=user, content=content, file_name=file_name)


@transaction.atomic
def _apply(
    *, golive: GoLive, importer: Importer, rows: list[dict], user: User, content: bytes, file_name: str
) -> ImportReport:
    golive = GoLive.objects.select_for_update().get(pk=golive.pk)
    golive_open_for_imports(golive)
    record = GoLiveImport.objects.create(
        golive=golive,
        kind=importer.kind,
        file_name=file_name[:255],
        file_digest=hashlib.sha256(content).hexdigest(),
        row_count=len(rows),
        applied_by=user,
    )
    ctx = GoLiveContext(golive=golive, user=user, dry_run=False, golive_import=record)
    report = importer.apply(rows, ctx)
    if report.errors:
        # apply re-checks under the lock; a row that went bad since the dry run refuses the whole file
        bad = [f"Row {r.row}: {r.reason}" for r in report.rows if r.action == "error"]
        raise ValidationFailed("The file was not imported: " + "; ".join(bad)[:900], fields={"file": bad[:50]})
    ctx.flush()
    _in_file_order(report)
    record.report = report_json(report)
    record.save(update_fields=["report"])
    if golive.status == GoLiveStatus.RECONCILED:
        # new data: the reconciliation must be looked at again
        golive.status = GoLiveStatus.DRAFT
        golive.save(update_fields=["status"])
    audit_record(
        actor=user,
        action="golive.import",
        obj=golive,
        summary=f"Imported {importer.label.lower()} ({len(rows)} rows) into go-live {golive.pk}",
        data={"kind": importer.kind, "import": record.pk, "file": file_name, "digest": record.file_digest},
    )
    return report


def _in_file_order(report: ImportReport) -> None:
    """Rows in the file's order, what concerns the file as a whole (row 0) last."""
    report.rows.sort(key=lambda r: (r.row == FILE_ROW, r.row))


def report_json(report: ImportReport) -> dict:
    return {
        "kind": report.kind,
        "dry_run": report.dry_run,
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "errors": report.errors,
        "notes": list(report.notes),
        "rows": [
            {"row": r.row, "name": r.name, "external_id": r.external_id, "action": r.action, "reason": r.reason,
             "rule": r.rule}
            for r in report.rows
        ],
    }  # fmt: skip


# --- rollback --------------------------------------------------------------------------------------------
# How a recorded object is undone is listed in billing.services.golive.UNDO (model label -> function(ids, ctx),
# called with the ids of one run of consecutive objects of that model, newest first). A model not listed is
# deleted; one that other rows still protect is deactivated when it has an `is_active` flag, else the rollback is
# refused naming it.


def ensure_golive_transition(golive: GoLive, to: str) -> None:
    if to not in GOLIVE_TRANSITIONS[golive.status]:
        raise InvalidTransition(
            f"A {golive.get_status_display().lower()} go-live cannot become {GoLiveStatus(to).label.lower()}."
        )


@transaction.atomic
def golive_rollback(*, golive: GoLive, user: User) -> None:
    """Undo every import of a go-live that is not complete, newest object first, in one transaction."""
    _require_finance(user)
    golive = GoLive.objects.select_for_update().get(pk=golive.pk)
    ensure_golive_transition(golive, GoLiveStatus.ROLLED_BACK)
    ctx = GoLiveContext(golive=golive, user=user, dry_run=False)
    recorded = list(GoLiveObject.objects.filter(golive=golive).select_related("content_type").order_by("-seq"))
    run: list[int] = []
    run_type: ContentType | None = None
    for obj in [*recorded, None]:
        if obj is not None and run_type is not None and obj.content_type_id == run_type.pk:
            run.append(obj.object_id)
            continue
        if run_type is not None:
            _undo(run_type, run, ctx)
        if obj is not None:
            run_type, run = obj.content_type, [obj.object_id]
    counts: dict[str, int] = {}
    for obj in recorded:
        counts[obj.content_type.model] = counts.get(obj.content_type.model, 0) + 1
    GoLiveObject.objects.filter(golive=golive).delete()
    GoLiveImport.objects.filter(golive=golive, rolled_back_at__isnull=True).update(rolled_back_at=timezone.now())
    golive.status = GoLiveStatus.ROLLED_BACK
    golive.rolled_back_at, golive.rolled_back_by = timezone.now(), user
    golive.save(update_fields=["status", "rolled_back_at", "rolled_back_by"])
    audit_record(
        actor=user,
        action="golive.rollback",
        obj=golive,
        summary=f"Rolled back go-live {golive.pk} ({len(recorded)} objects)",
        data={"objects": counts},
    )


def _undo(content_type: ContentType, ids: list[int], ctx: GoLiveContext) -> None:
    from billing.services.golive import UNDO  # the package lists the undo paths; it imports this module

    model = content_type.model_class()
    assert model is not None
    label = model._meta.label
    if label in UNDO:
        UNDO[label](ids, ctx)
        return
    try:
        with transaction.atomic():
            model._default_manager.filter(pk__in=ids).delete()
        return
    except (ProtectedError, RestrictedError):
        pass
    # some are still in use: delete the others one by one, deactivate those (or refuse when they cannot be)
    for obj in model._default_manager.filter(pk__in=ids):
        try:
            with transaction.atomic():
                obj.delete()
        except (ProtectedError, RestrictedError):
            if not any(f.name == "is_active" for f in model._meta.fields):
                raise ConflictError(
                    f"The go-live cannot be rolled back: {model._meta.verbose_name} {obj} that it created is in use.",
                    code="golive_object_in_use",
                ) from None
            model._default_manager.filter(pk=obj.pk).update(is_active=False)
