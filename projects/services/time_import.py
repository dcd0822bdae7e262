"""CSV import of time from another time tool or a spreadsheet.

Columns (headers matched loosely, as for the CRM import):
- consultant* — the consultant's username or e-mail
- project* — the project code (e.g. P-0042)
- task — the task name within that project (optional; blank books on the project itself)
- date* — YYYY-MM-DD
- hours* — e.g. 7.5 (at most two decimals)
- note, external id

Every row is checked against the same rules as the timesheet (allocated on that day, inside the project's dates,
open project, at most 24 h a day counting what is stored, one entry per cell), with a fixed number of queries
whatever the file size. A dry run reports per row what would happen; the import then writes the good rows:
- a row for an empty cell creates a draft entry;
- a row for a cell that holds a draft or rejected entry rewrites its hours and note ("update");
- a row for a submitted or approved cell with the same hours is "unchanged" (re-importing a file is harmless);
  with other hours it is refused (rule: locked_after_submit) — approved time changes only through the PM.
Bad rows are listed with the rule they break and never written. Imported entries are drafts: the consultant
or PM submits them, the PM approves them, as for time typed into the grid.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from projects.choices import EntryStatus
from projects.models import Consultant, Project, Task, TimeEntry
from projects.services.time import (
    EDITABLE_STATUSES,
    EntrySpec,
    _lock_consultants,
    _problems,
    time_entries_bulk_create,
)
from psa.core.audit import audit_record
from psa.core.exceptions import PermissionDeniedError
from psa.core.history import history_context
from psa.core.imports import ROW, ImportReport, RowResult, csv_rows, max_lengths, too_long
from psa.core.roles import Role, has_role
from psa.core.uploads import MB, UploadLimit

KIND = "time"
UPLOAD_LIMIT = UploadLimit(kind=KIND, label="time files", max_bytes=5 * MB, max_rows=20_000)
ALIASES = {
    "consultant": "consultant",
    "user": "consultant",
    "username": "consultant",
    "email": "consultant",
    "employee": "consultant",
    "project": "project",
    "project_code": "project",
    "task": "task",
    "task_name": "task",
    "date": "date",
    "day": "date",
    "hours": "hours",
    "duration": "hours",
    "note": "note",
    "notes": "note",
    "description": "note",
    "external_id": "external_id",
    "id": "external_id",
}


@dataclass
class _Row:
    index: int  # the file's row number (header = 1)
    spec: EntrySpec | None
    external_id: str
    label: str
    error: str = ""

    @property
    def ok(self) -> EntrySpec:
        """The entry of a row that parsed (every row past the parsing step)."""
        assert self.spec is not None
        return self.spec


def _consultants(keys: set[str]) -> dict[str, int]:
    """Consultant id by lower-cased username and e-mail (one query)."""
    rows = (
        Consultant.objects.annotate(u=Lower("user__username"), e=Lower("user__email"))
        .filter(Q(u__in=keys) | Q(e__in=keys), user__is_active=True)
        .values_list("pk", "u", "e")
    )
    found: dict[str, int] = {}
    for pk, username, email in rows:
        found[username] = pk
        if email:
            found.setdefault(email, pk)
    return found


def _parse(rows: list[dict]) -> list[_Row]:
    consultants = _consultants({r.get("consultant", "").lower() for r in rows if r.get("consultant")})
    codes = {r.get("project", "").upper() for r in rows if r.get("project")}
    projects = {code.upper(): pk for pk, code in Project.objects.filter(code__in=codes).values_list("pk", "code")}
    tasks = {
        (project_id, name.lower()): pk
        for pk, project_id, name in Task.objects.filter(project_id__in=projects.values()).values_list(
            "pk", "project_id", "name"
        )
    }
    lengths = max_lengths(TimeEntry, {"note": "note", "external_id": "source_key"})
    out = []
    for r in rows:
        n = r[ROW]
        label = f"{r.get('consultant', '')} · {r.get('project', '')} · {r.get('date', '')} · {r.get('hours', '')} h"
        row = _Row(n, None, r.get("external_id", ""), label)
        out.append(row)
        missing = [c for c in ("consultant", "project", "date", "hours") if not r.get(c)]
        if missing:
            row.error = f"Missing {', '.join(missing)}."
            continue
        if problems := too_long(r, lengths):
            row.error = "; ".join(problems).capitalize() + "."
            continue
        consultant_id = consultants.get(r["consultant"].lower())
        if consultant_id is None:
            row.error = f"No active consultant with the username or e-mail “{r['consultant']}”."
            continue
        project_id = projects.get(r["project"].upper())
        if project_id is None:
            row.error = f"No project with the code “{r['project']}”."
            continue
        task_id = None
        if r.get("task"):
            task_id = tasks.get((project_id, r["task"].lower()))
            if task_id is None:
                row.error = f"{r['project']} has no task “{r['task']}”."
                continue
        try:
            day = date.fromisoformat(r["date"][:10])
        except ValueError:
            row.error = f"“{r['date']}” is not a date (YYYY-MM-DD)."
            continue
        try:
            hours = Decimal(r["hours"].replace(",", "."))
        except InvalidOperation:
            row.error = f"“{r['hours']}” is not a number of hours."
            continue
        if not hours.is_finite():
            row.error = f"“{r['hours']}” is not a number of hours."
            continue
        row.spec = EntrySpec(consultant_id, project_id, task_id, day, hours, r.get("note", ""), row.external_id)
    return out


@history_context("time-import", by="by")
@transaction.atomic
def time_csv_import(*, by: User, content: str | bytes, dry_run: bool = True) -> ImportReport:
    """Check every row, then (unless `dry_run`) write the good ones. Project managers and admins import for
    anyone; a consultant imports only their own time (other people's rows are refused row by row)."""
    if not has_role(by, Role.PROJECT_MANAGER, Role.ADMIN, Role.CONSULTANT):
        raise PermissionDeniedError("Only consultants, project managers and administrators may import time.")
    rows = _parse(csv_rows(content, aliases=ALIASES, required="hours", limit=UPLOAD_LIMIT))
    if not has_role(by, Role.PROJECT_MANAGER, Role.ADMIN):
        own = Consultant.objects.filter(user=by).values_list("pk", flat=True).first()
        for row in rows:
            if row.spec and row.spec.consultant_id != own:
                row.spec, row.error = None, "You may import only your own time."
    parsed = [row for row in rows if row.spec]
    if parsed and not dry_run:
        _lock_consultants([row.ok.consultant_id for row in parsed])
    # What each row's cell holds today (one query).
    cells = {(row.ok.consultant_id, row.ok.project_id, row.ok.task_id, row.ok.date) for row in parsed}
    existing: dict[tuple, TimeEntry] = {}
    if cells:
        first = min(c[3] for c in cells)
        last = max(c[3] for c in cells)
        qs = TimeEntry.objects.filter(
            consultant_id__in={c[0] for c in cells}, project_id__in={c[1] for c in cells}, date__range=(first, last)
        ).only(
            "pk",
            "consultant_id",
            "project_id",
            "task_id",
            "date",
            "hours",
            "status",
            "note",
            "rejection_reason",
            "source_key",
        )
        if not dry_run:
            qs = qs.select_for_update()
        existing = {key: e for e in qs if (key := (e.consultant_id, e.project_id, e.task_id, e.date)) in cells}
    actions: dict[int, str] = {}
    checked: list[_Row] = []
    for row in parsed:
        entry = existing.get((row.ok.consultant_id, row.ok.project_id, row.ok.task_id, row.ok.date))
        if entry is None:
            actions[row.index] = "create"
        elif entry.status in EDITABLE_STATUSES:
            actions[row.index] = "update"
        elif entry.hours == row.ok.hours:
            actions[row.index] = "unchanged"
            continue
        else:
            row.error = (
                f"That day is {entry.get_status_display().lower()} with {entry.hours} h and can no longer change "
                "(rule: locked_after_submit)."
            )
            continue
        checked.append(row)
    replacing = {
        key: existing[key].pk
        for row in checked
        if (key := (row.ok.consultant_id, row.ok.project_id, row.ok.task_id, row.ok.date)) in existing
    }
    for i, rule, _field, message in _problems([row.ok for row in checked], replacing=replacing):
        checked[i].error = f"{message} (rule: {rule})"
    good = [row for row in checked if not row.error]
    report = ImportReport(kind=KIND, dry_run=dry_run)
    for row in rows:
        action = "error" if row.error else actions.get(row.index, "error")
        reason = row.error
        if action == "unchanged":
            reason = "already submitted or approved with these hours"
        report.rows.append(RowResult(row.index, row.label, row.external_id, action, reason))
    if dry_run or not good:
        return report
    now = timezone.now()
    updates = []
    for row in good:
        key = (row.ok.consultant_id, row.ok.project_id, row.ok.task_id, row.ok.date)
        if key in existing:
            entry = existing[key]
            entry.hours, entry.note, entry.updated_at = row.ok.hours, row.ok.note, now
            entry.status, entry.rejection_reason = EntryStatus.DRAFT, ""
            entry.source_key = row.ok.source_key
            updates.append(entry)
    if updates:
        TimeEntry.objects.bulk_update(
            updates, ["hours", "note", "updated_at", "status", "rejection_reason", "source_key"], batch_size=2000
        )
    creates = [row.ok for row in good if actions[row.index] == "create"]
    if creates:
        time_entries_bulk_create(by=by, specs=creates)
    audit_record(
        actor=by,
        action="projects.time.import",
        obj=None,
        summary=f"Imported time from CSV: {len(creates)} created, {len(updates)} updated",
    )
    return report
