"""CSV import: upload, dry-run report per row, then import the same file."""

from django.contrib import messages
from django.shortcuts import render

from crm import services
from crm.forms import ImportForm
from crm.permissions import ACCOUNT_EDIT_ROLES, EDIT_ROLES, import_kinds, is_sales_manager
from crm.services.imports import UPLOAD_LIMIT
from psa.core.imports import csv_import_step
from psa.core.roles import role_required
from psa.core.uploads import upload_limited


@role_required(*EDIT_ROLES, *ACCOUNT_EDIT_ROLES)
@upload_limited(UPLOAD_LIMIT)
def csv_import(request):
    """Step 1 uploads and shows the dry run; step 2 posts the same content back (hidden) with `confirm`."""
    kinds = import_kinds(request.user)
    form = ImportForm(request.POST or None, request.FILES or None, kinds=kinds)
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
        form, done = ImportForm(kinds=kinds), True
    else:
        done = False
    context = {
        "form": form,
        "report": step.report,
        "payload": None if done else step.payload,
        "kind": kind,
        "kinds": kinds,
        "manager": is_sales_manager(request.user),
        "done": done,
    }
    if done:
        return render(request, "crm/import.html", context)
    return render(request, "crm/import.html", context, status=400 if form.errors else 200)
