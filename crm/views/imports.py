"""CSV import: upload, dry-run report per row, then import the same file."""

import base64

from django.contrib import messages
from django.shortcuts import render

from crm import services
from crm.forms import ImportForm
from crm.permissions import EDIT_ROLES
from psa.core.exceptions import DomainError
from psa.core.forms import form_apply_domain_error
from psa.core.roles import Role, role_required

MAX_BYTES = 5 * 1024 * 1024


@role_required(*EDIT_ROLES, Role.FINANCE)
def csv_import(request):
    """Step 1 uploads and shows the dry run; step 2 posts the same content back (hidden) with `confirm`."""
    form = ImportForm(request.POST or None, request.FILES or None)
    report = None
    payload = ""
    if request.method == "POST" and request.POST.get("confirm") and request.POST.get("payload"):
        try:
            content = base64.b64decode(request.POST["payload"])
            report = services.csv_import(
                by=request.user, kind=request.POST.get("kind", ""), content=content, dry_run=False
            )
            messages.success(
                request,
                f"Imported: {report.created} created, {report.updated} updated, {report.errors} refused.",
            )
            return render(request, "crm/import.html", {"form": ImportForm(), "report": report, "done": True})
        except DomainError as exc:
            form_apply_domain_error(form, exc)
    elif request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            form.add_error("file", "The file is larger than 5 MB; split it.")
        else:
            content = upload.read()
            try:
                report = services.csv_import(
                    by=request.user, kind=form.cleaned_data["kind"], content=content, dry_run=True
                )
                payload = base64.b64encode(content).decode()
            except DomainError as exc:
                form_apply_domain_error(form, exc)
    elif request.method == "POST":
        pass
    else:
        return render(request, "crm/import.html", {"form": form})
    status = 400 if form.errors else 200
    return render(
        request,
        "crm/import.html",
        {"form": form, "report": report, "payload": payload, "kind": request.POST.get("kind", "")},
        status=status,
    )
