"""The go-live workspace for finance: the cut-over, each import kind (upload -> dry run report -> apply), the
reconciliation, complete and roll back. Every page calls billing.services.golive / billing.selectors.golive."""

import sys
from dataclasses import replace

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize

from billing.choices import GoLiveStatus
from billing.forms import GoLiveFileForm, GoLiveForm
from billing.models import GoLive, GoLiveImport
from billing.selectors.golive import golive_reconciliation
from billing.services.golive import IMPORTERS, golive_complete, golive_create, golive_import, golive_rollback
from billing.services.golive.base import UPLOAD_LIMIT
from billing.views._common import finance_required
from psa.core.entities import entity_default
from psa.core.exceptions import DomainError
from psa.core.forms import form_apply_domain_error
from psa.core.imports import ImportReport, csv_import_step
from psa.core.uploads import upload_limited


def golive_limit(kind: str):
    """One staged file per user and import kind, so checking the chart does not drop a checked trial balance."""
    return replace(UPLOAD_LIMIT, kind=f"golive_{kind}")


@finance_required
def golive_list(request):
    form = GoLiveForm(request.POST or None, initial={"entity": entity_default()})
    if request.method == "POST" and form.is_valid():
        try:
            golive = golive_create(
                entity=form.cleaned_data["entity"],
                cutover_date=form.cleaned_data["cutover_date"],
                user=request.user,
                notes=form.cleaned_data.get("notes") or "",
            )
        except DomainError as exc:
            form_apply_domain_error(form, exc)
        else:
            messages.success(request, f"Go-live for {golive.entity.name} at {golive.cutover_date:%Y-%m-%d} started.")
            return redirect("billing:golive", pk=golive.pk)
    golives = GoLive.objects.select_related("entity", "created_by").order_by("-created_at")[:50]
    return render(
        request, "billing/golive/list.html", {"form": form, "golives": golives}, status=400 if form.errors else 200
    )


def _kinds(golive: GoLive) -> list[dict]:
    applied: dict[str, list[GoLiveImport]] = {}
    for record in golive.imports.select_related("applied_by").order_by("applied_at", "id"):
        applied.setdefault(record.kind, []).append(record)
    return [
        {"kind": kind, "importer": importer, "imports": applied.get(kind, [])} for kind, importer in IMPORTERS.items()
    ]


@finance_required
def golive_detail(request, pk: int):
    golive = get_object_or_404(GoLive.objects.select_related("entity", "created_by", "completed_by"), pk=pk)
    checks = golive_reconciliation(golive)
    context = {
        "golive": golive,
        "kinds": _kinds(golive),
        "checks": checks,
        "red": [c for c in checks if not c.ok],
        "open": golive.status in (GoLiveStatus.DRAFT, GoLiveStatus.RECONCILED),
    }
    return render(request, "billing/golive/detail.html", context)


@finance_required
@upload_limited(UPLOAD_LIMIT)
def golive_import_view(request, pk: int, kind: str):
    golive = get_object_or_404(GoLive.objects.select_related("entity"), pk=pk)
    importer = IMPORTERS.get(kind)
    if importer is None:
        raise Http404(f"No go-live import of kind {kind}.")
    form = GoLiveFileForm(request.POST or None, request.FILES or None)
    name = request.FILES["file"].name if request.FILES.get("file") else request.POST.get("file_name", "")

    def run(content: bytes, dry_run: bool):
        report = golive_import(
            golive=golive, kind=kind, file=content, user=request.user, dry_run=dry_run, file_name=name
        )
        report.options["file_name"] = name[:200]
        return report

    step = csv_import_step(request, form, run, limit=golive_limit(kind))
    if step.done:
        rows = len(step.report.rows) if isinstance(step.report, ImportReport) else 0
        messages.success(request, f"Imported {importer.label.lower()}: {rows} row{pluralize(rows)}.")
        return redirect("billing:golive", pk=golive.pk)
    context = {
        "golive": golive,
        "importer": importer,
        "form": form,
        "report": step.report,
        "payload": step.payload,
        "done": step.done,
        "columns": importer.columns,
        "optional_columns": importer.optional_columns,
        # the importer module's docstring says what each column means: its paragraphs, lines joined
        "doc": [" ".join(p.split()) for p in (sys.modules[type(importer).__module__].__doc__ or "").split("\n\n")],
    }
    return render(request, "billing/golive/import.html", context, status=400 if form.errors else 200)


@finance_required
def golive_reconciliation_view(request, pk: int):
    golive = get_object_or_404(GoLive.objects.select_related("entity"), pk=pk)
    checks = golive_reconciliation(golive)
    groups: dict[str, list] = {}
    for check in checks:
        groups.setdefault(check.group or "Other", []).append(check)
    return render(
        request,
        "billing/golive/reconciliation.html",
        {"golive": golive, "groups": groups, "checks": checks, "green": bool(checks) and all(c.ok for c in checks)},
    )


@finance_required
def golive_complete_view(request, pk: int):
    return _transition(request, pk, golive_complete, "Go-live complete: the books start at the cut-over.")


@finance_required
def golive_rollback_view(request, pk: int):
    return _transition(request, pk, golive_rollback, "Go-live rolled back: every import was undone.")


def _transition(request, pk: int, service, done: str):
    golive = get_object_or_404(GoLive, pk=pk)
    if request.method != "POST":
        return redirect("billing:golive", pk=pk)
    try:
        service(golive=golive, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("billing:golive", pk=pk)
