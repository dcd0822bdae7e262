"""The two-step CSV upload every import page shares: upload → dry-run report → confirm the same file.

The file's bytes travel back with the confirmation as a hidden base64 field, so the import writes exactly what
the dry run checked (no server-side temp files, nothing to clean up). The app supplies the service call.
"""

import base64
from collections.abc import Callable
from dataclasses import dataclass

from psa.core.exceptions import DomainError
from psa.core.forms import form_apply_domain_error

MAX_BYTES = 5 * 1024 * 1024


@dataclass
class ImportStep:
    report: object = None
    payload: str = ""
    done: bool = False


def csv_import_step(request, form, run: Callable[[bytes, bool], object]) -> ImportStep:
    """Do what this request asks: `run(content, dry_run)` returns the service's report. Errors (a bad file,
    a refused import) land on the form, naming the field."""
    step = ImportStep()
    if request.method != "POST":
        return step
    if request.POST.get("confirm") and request.POST.get("payload"):
        try:
            step.report = run(base64.b64decode(request.POST["payload"]), False)
            step.done = True
        except (DomainError, ValueError) as exc:
            if isinstance(exc, DomainError):
                form_apply_domain_error(form, exc)
            else:
                form.add_error(None, "The confirmation was damaged; upload the file again.")
        return step
    if not form.is_valid():
        return step
    upload = form.cleaned_data["file"]
    if upload.size > MAX_BYTES:
        form.add_error("file", "The file is larger than 5 MB; split it.")
        return step
    content = upload.read()
    try:
        step.report = run(content, True)
        step.payload = base64.b64encode(content).decode()
    except DomainError as exc:
        form_apply_domain_error(form, exc)
    return step
