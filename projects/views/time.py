"""Time pages: the consultant's weekly timesheet (saved cell by cell over HTMX), copy last week, submit; the
PM's approval queue for time and expenses (bulk approve, reject with a reason); expenses with receipts;
the missing-time list. Views parse input and call one service; the services decide."""

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST

from projects.choices import EntryStatus
from projects.forms import CellForm, ExpenseForm, TimeImportForm, TimeOffForm
from projects.models import Consultant
from projects.selectors import (
    approval_groups,
    approver_consultants,
    approver_projects,
    expense_queue,
    expenses_for,
    missing_time,
    timesheet_week,
    week_warnings,
)
from projects.selectors.people import has_consultant_record
from projects.services import expenses as expense_services
from projects.services import staffing as staffing_services
from projects.services import time as time_services
from projects.services.time_import import UPLOAD_LIMIT as TIME_UPLOAD_LIMIT
from projects.services.time_import import time_csv_import
from psa.core.dates import parse_date, week_start
from psa.core.exceptions import DomainError, ValidationFailed
from psa.core.forms import error_text, form_apply_domain_error, form_errors_text, form_labels
from psa.core.imports import csv_import_step
from psa.core.money import to_decimal
from psa.core.roles import Role, role_required
from psa.core.uploads import upload_limited

# The approval queue shows the oldest entries first, a page an approver can read and decide (500 rows made a
# page that took seconds under load); deciding them brings the next ones up.
QUEUE_LIMIT = 100
APPROVER_ROLES = (Role.PROJECT_MANAGER, Role.ADMIN)


def _message(exc: DomainError) -> str:
    return error_text(exc, form_labels(CellForm()))


def _week(request) -> date:
    """The Monday of the `week` asked for (any day of it); this week, with a message, when it is not a date."""
    raw = request.GET.get("week") or request.POST.get("week") or ""
    if not raw:
        return week_start(date.today())
    try:
        return week_start(parse_date(raw, field="week"))
    except ValidationFailed as exc:
        messages.warning(request, f"Ignored week={raw}: {exc.fields['week'][0]} Showing this week instead.")
        return week_start(date.today())


def _consultant(request) -> Consultant:
    consultant = Consultant.objects.filter(user=request.user, is_active=True).select_related("role").first()
    if consultant is None:
        raise Http404("Your login has no consultant record: ask an administrator to add one.")
    return consultant


def _no_consultant_record(request, page: str):
    """A page of a consultant's own (timesheet, expenses) opened by a login with no consultant record (an
    administrator, typically): a plain explanation instead of a 404. The menu does not offer these pages to
    such a login (projects.navigation)."""
    return render(request, "projects/no_consultant.html", {"page": page})


def _extra_rows(raw: list[str]) -> list[tuple[int, int | None]]:
    out = []
    for item in raw:
        try:
            pid, tid = item.split("-", 1)
            out.append((int(pid), int(tid) or None))
        except ValueError:
            continue
    return out


@role_required(Role.CONSULTANT)
def timesheet(request):
    if not has_consultant_record(request.user):
        return _no_consultant_record(request, "Timesheet")
    consultant = _consultant(request)
    monday = _week(request)
    added = request.GET.getlist("add")
    grid = timesheet_week(consultant=consultant, monday=monday, extra_rows=_extra_rows(added))
    addable = [
        (f"{p.pk}-{t.pk if t else 0}", f"{p.code} · {t.name if t else 'General'}")
        for p in grid.allocated_projects
        for t in [None, *p.tasks.all()]
    ]
    return render(
        request,
        "projects/timesheet.html",
        {
            "grid": grid,
            "consultant": consultant,
            "prev_week": monday - timedelta(days=7),
            "next_week": monday + timedelta(days=7),
            "added": added,
            "addable": addable,
            "today": date.today(),
        },
    )


def _parse_hours(raw: str) -> Decimal:
    raw = (raw or "").strip().replace(",", ".")
    if not raw:
        return Decimal("0")
    if ":" in raw:  # 7:30 -> 7.5
        h, m = raw.split(":", 1)
        return Decimal(int(h)) + (Decimal(int(m or 0)) / 60).quantize(Decimal("0.01"))
    return to_decimal(raw)


@role_required(Role.CONSULTANT)
@require_POST
def timesheet_cell(request):
    """Save one cell as the consultant types; answer with the cell's state and every total (out-of-band)."""
    consultant = _consultant(request)
    form = CellForm(request.POST)
    error = ""
    key = f"{request.POST.get('project', '')}-{request.POST.get('task') or 0}"
    day_index = 0
    if not form.is_valid():
        error = "This cell could not be read. " + form_errors_text(form)
        monday = week_start(date.today())
    else:
        d = form.cleaned_data
        monday = week_start(d["date"])
        day_index = (d["date"] - monday).days
        try:
            hours = _parse_hours(d["hours"])
        except (InvalidOperation, ValueError):
            hours = None
            error = f"Hours: '{d['hours']}' is not a number of hours."
        if hours is not None:
            try:
                time_services.time_entry_put(
                    by=request.user,
                    consultant_id=consultant.pk,
                    project_id=d["project"],
                    task_id=d["task"] or None,
                    day=d["date"],
                    hours=hours,
                    note=d["note"],
                )
            except DomainError as exc:
                error = _message(exc)
    grid = timesheet_week(consultant=consultant, monday=monday)
    return render(
        request,
        "projects/_timesheet_totals.html",
        {"grid": grid, "error": error, "cell_id": f"st-{key}-{day_index}"},
    )


@role_required(Role.CONSULTANT)
@require_POST
def timesheet_submit(request):
    consultant = _consultant(request)
    monday = _week(request)
    try:
        n = time_services.timesheet_submit(by=request.user, consultant_id=consultant.pk, week=monday)
        week = f"{monday:%d %b %Y}"
        messages.success(request, f"Submitted {n} entr{pluralize(n, 'y,ies')} for the week of {week} for approval.")
        for warning in week_warnings(consultant_id=consultant.pk, week=monday):
            messages.warning(request, f"Please check: {warning}. Your approver sees this too.")
    except DomainError as exc:
        messages.error(request, _message(exc))
    return redirect(f"{reverse('projects:timesheet')}?week={monday.isoformat()}")


@role_required(Role.CONSULTANT)
@require_POST
def timesheet_copy(request):
    consultant = _consultant(request)
    monday = _week(request)
    try:
        result = time_services.timesheet_copy_last_week(by=request.user, consultant_id=consultant.pk, week=monday)
    except DomainError as exc:
        messages.error(request, _message(exc))
        return redirect(f"{reverse('projects:timesheet')}?week={monday.isoformat()}")
    if not result.rows:
        messages.info(request, "Nothing to copy from last week.")
    else:
        skipped = f"; skipped {result.skipped} that already had hours typed on their day" if result.skipped else ""
        messages.success(request, f"Copied last week's rows: filled {result.filled} empty cells{skipped}.")
    rows = "".join(f"&add={project_id}-{task_id or 0}" for project_id, task_id in result.rows)
    return redirect(f"{reverse('projects:timesheet')}?week={monday.isoformat()}{rows}")


# --- approvals ------------------------------------------------------------------------------------------
@role_required(*APPROVER_ROLES)
def approvals(request):
    """The approval queue, one card per consultant and week with its anomalies; nothing is pre-selected: the
    approver ticks entries or decides the whole week (rejecting needs a reason)."""
    project_id, consultant_id = _int_param(request, "project"), _int_param(request, "consultant")
    groups, more = approval_groups(request.user, limit=QUEUE_LIMIT, project_id=project_id, consultant_id=consultant_id)
    expenses = list(expense_queue(request.user)[: QUEUE_LIMIT + 1])
    return render(
        request,
        "projects/approvals.html",
        {
            "groups": groups,
            "filter_projects": approver_projects(request.user),
            "filter_consultants": approver_consultants(request.user),
            "project_id": project_id,
            "consultant_id": consultant_id,
            "entry_count": sum(len(g.entries) for g in groups),
            "more": more,
            "expenses": expenses[:QUEUE_LIMIT],
            "total": sum((g.hours for g in groups), Decimal("0")),
        },
    )


def _int_param(request, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


def _ids(request, name: str = "ids") -> list[int]:
    out = []
    for raw in request.POST.getlist(name):
        try:
            out.append(int(raw))
        except ValueError:
            continue
    return out


@role_required(*APPROVER_ROLES)
@require_POST
def approvals_decide(request, kind: str):
    action = request.POST.get("action") or ""
    if action.endswith("_week"):
        # "Approve week" / "Reject week": every entry of the card, whatever is ticked.
        action, ids = action.removesuffix("_week"), _ids(request, "week_ids")
    else:
        ids = _ids(request)
    if not ids:
        messages.error(request, "Tick the entries to decide, or use the week's buttons.")
        return redirect("projects:approvals")
    try:
        if kind == "time" and action == "approve":
            n = time_services.time_entries_approve(by=request.user, entry_ids=ids)
            messages.success(request, f"Approved {n} time entr{pluralize(n, 'y,ies')}; their rates are now fixed.")
        elif kind == "time" and action == "reject":
            n = time_services.time_entries_reject(by=request.user, entry_ids=ids, reason=request.POST.get("reason", ""))
            entries = f"{n} time entr{pluralize(n, 'y,ies')}"
            messages.success(request, f"Rejected {entries}; the consultant sees your reason.")
        elif kind == "expense" and action == "approve":
            n = expense_services.expenses_approve(by=request.user, expense_ids=ids)
            messages.success(request, f"Approved {n} expense{pluralize(n)}.")
        elif kind == "expense" and action == "reject":
            n = expense_services.expenses_reject(
                by=request.user, expense_ids=ids, reason=request.POST.get("reason", "")
            )
            messages.success(request, f"Rejected {n} expense{pluralize(n)}.")
        else:
            messages.error(request, "Unknown action.")
    except DomainError as exc:
        messages.error(request, _message(exc))
    return redirect("projects:approvals")


@role_required(*APPROVER_ROLES)
def missing(request):
    monday = _week(request) if request.GET.get("week") else week_start(date.today()) - timedelta(days=7)
    return render(
        request,
        "projects/missing_time.html",
        {"rows": missing_time(week=monday), "monday": monday, "prev_week": monday - timedelta(days=7),
         "next_week": monday + timedelta(days=7)},
    )  # fmt: skip


# --- expenses -------------------------------------------------------------------------------------------
@role_required(Role.CONSULTANT)
@upload_limited(expense_services.RECEIPT_LIMIT)
def expense_list(request):
    if not has_consultant_record(request.user):
        return _no_consultant_record(request, "Expenses")
    consultant = _consultant(request)
    action = request.POST.get("action") if request.method == "POST" else None
    if action in ("submit", "delete"):
        try:
            if action == "submit":
                n = expense_services.expenses_submit(
                    by=request.user, consultant_id=consultant.pk, expense_ids=_ids(request)
                )
                messages.success(request, f"Submitted {n} expense{pluralize(n)} for approval.")
            else:
                n = expense_services.expenses_delete(
                    by=request.user, consultant_id=consultant.pk, expense_ids=_ids(request)
                )
                messages.success(request, f"Deleted {n} draft expense{pluralize(n)}.")
        except DomainError as exc:
            messages.error(request, _message(exc))
        return redirect("projects:expenses")
    form = ExpenseForm(request.POST or None, request.FILES or None, consultant=consultant)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            expense_services.expense_create(
                by=request.user,
                consultant_id=consultant.pk,
                project_id=d["project"].pk,
                day=d["date"],
                category=d["category"],
                amount=d["amount"],
                currency=d["currency"],
                billable=d["billable"],
                description=d["description"],
                receipt=d["receipt"],
            )
            messages.success(request, "Expense saved as a draft.")
            return redirect("projects:expenses")
        except DomainError as exc:
            form_apply_domain_error(form, exc)
    mine = expenses_for(request.user).filter(consultant=consultant).select_related("project")[:200]
    return render(request, "projects/expenses.html", {"form": form, "expenses": mine, "EntryStatus": EntryStatus})


@role_required(Role.CONSULTANT, *APPROVER_ROLES)
@upload_limited(TIME_UPLOAD_LIMIT)
def time_import(request):
    """Upload a CSV of time, read the dry run row by row, then import the good rows as drafts."""
    form = TimeImportForm(request.POST or None, request.FILES or None)
    step = csv_import_step(
        request,
        form,
        lambda content, dry_run: time_csv_import(by=request.user, content=content, dry_run=dry_run),
        limit=TIME_UPLOAD_LIMIT,
    )
    if step.done:
        r = step.report
        messages.success(request, f"Imported time: {r.created} created, {r.updated} updated, {r.errors} refused.")
        form = TimeImportForm()
    context = {
        "form": form,
        "report": step.report,
        "payload": step.payload,
        "done": step.done,
        "report_label": "Consultant · project · date · hours",
    }
    return render(request, "projects/time_import.html", context, status=400 if form.errors else 200)


@role_required(Role.CONSULTANT)
def time_off(request):
    """A consultant's holidays and leave: list, add, remove. Capacity, missing time and utilization follow."""
    consultant = _consultant(request)
    form = TimeOffForm(request.POST or None)
    if request.method == "POST" and request.POST.get("remove"):
        try:
            staffing_services.time_off_remove(by=request.user, time_off_id=int(request.POST["remove"]))
            messages.success(request, "Removed the time off.")
        except (DomainError, ValueError) as exc:
            messages.error(request, _message(exc) if isinstance(exc, DomainError) else "No such time off.")
        return redirect("projects:time-off")
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            off = staffing_services.time_off_add(by=request.user, consultant_id=consultant.pk, **d)
            messages.success(request, f"Recorded {off.get_kind_display().lower()} from {off.start_date:%d %b %Y}.")
            return redirect("projects:time-off")
        except DomainError as exc:
            form_apply_domain_error(form, exc)
    today = date.today()
    entries = consultant.time_off.order_by("-start_date")[:200]
    context = {"form": form, "entries": entries, "today": today, "consultant": consultant}
    return render(request, "projects/time_off.html", context, status=400 if form.errors else 200)
