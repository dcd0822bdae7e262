"""CSV import: upload, dry-run report per row, then import the same file."""

from django.contrib import messages
from django.shortcuts import render

from crm import services
from crm.forms import ImportForm
from crm.permissions import EDIT_ROLES
from crm.services.imports import UPLOAD_LIMIT
from psa.core.imports import csv_import_step
from psa.core.roles import Role, role_required
from psa.core.uploads import upload_limited


@role_required(*EDIT_ROLES, Role.FINANCE)
@upload_limited(UPLOAD_LIMIT)
def csv_import(request):
    """Step 1 uploads and shows the dry run; step 2 posts the same content back (hidden) with `confirm`."""
    form = ImportForm(request.POST or None, request.FILES or None)
    kind = request.POST.get("kind", "")
    step = csv_import_step(
        request,
        form,
        lambda content, dry_run: services.csv_import(by=request.user, kind=kind, content=content, dry_run=dry_run),
        limit=UPLOAD_LIMIT,
    )
    if step.done:
        report = step.report
        messages.success(
            request, f"Imported: {report.created} created, {report.updated} updated, {report.errors} refused."
        )
        return render(request, "crm/import.html", {"form": ImportForm(), "report": report, "done": True})
    context = {"form": form, "report": step.report, "payload": step.payload, "kind": kind}
    return render(request, "crm/import.html", context, status=400 if form.errors else 200)
