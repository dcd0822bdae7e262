"""Sending a stored file (an invoice PDF, a receipt) once its view has checked who may have it.

Nothing under MEDIA_ROOT is served directly: no URL route, no web-server alias that a browser can reach. A
checked view (psa/web/files.py maps each kind of stored file to the permission check of its page) finds the
file and returns `stored_file_response(...)`, which sends it in one of three ways, chosen by PSA_FILES_SERVE:

- `django` (default): the Django process streams the file (a FileResponse). Works everywhere, no proxy needed.
- `x-accel-redirect`: nginx sends it. The response carries `X-Accel-Redirect: <PSA_FILES_ACCEL_PREFIX><name>`
  and no body; nginx maps that prefix to MEDIA_ROOT in an `internal;` location, which browsers cannot open.
- `x-sendfile`: Apache (mod_xsendfile) or lighttpd sends it. The response carries `X-Sendfile: <absolute path>`.

Every response is private (never stored by a shared cache) and `nosniff`; a download is also sandboxed by its
own Content-Security-Policy. Files shown inline (receipts) have a content type fixed by the upload check (PDF,
PNG, JPEG, WebP by their first bytes), so none can run script on our origin.
"""

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import default_storage
from django.http import FileResponse, HttpResponse, HttpResponseBase
from django.urls import reverse
from django.utils.http import content_disposition_header

SERVE_MODES = ("django", "x-accel-redirect", "x-sendfile")


@dataclass(frozen=True)
class StoredFile:
    """One file in the default storage, as its owner downloads it."""

    name: str  # the storage name, relative to MEDIA_ROOT
    filename: str  # the name the browser saves it under
    content_type: str
    as_attachment: bool = True
    sha256: str = ""  # when known (an invoice PDF): sent as the ETag and X-Content-SHA256


def file_url(kind: str, pk: int, *, api: bool = False, request=None) -> str:
    """The checked URL of a stored file (psa/web/files.py), for pages or, with `api`, for API responses;
    absolute when the request is given (as DRF gives file URLs)."""
    path = reverse("api-stored-file" if api else "stored-file", kwargs={"kind": kind, "pk": pk})
    return request.build_absolute_uri(path) if request is not None else path


def stored_file_response(stored: StoredFile) -> HttpResponseBase:
    """The response that sends `stored`. Call only after the caller's permission check passed."""
    mode = settings.PSA_FILES_SERVE
    if mode == "django":
        response: HttpResponseBase = FileResponse(
            default_storage.open(stored.name, "rb"),
            as_attachment=stored.as_attachment,
            filename=stored.filename,
            content_type=stored.content_type,
        )
    elif mode in ("x-accel-redirect", "x-sendfile"):
        response = HttpResponse(content_type=stored.content_type)
        if disposition := content_disposition_header(stored.as_attachment, stored.filename):
            response["Content-Disposition"] = disposition
        if mode == "x-accel-redirect":
            response["X-Accel-Redirect"] = f"{settings.PSA_FILES_ACCEL_PREFIX}{stored.name}"
        else:
            response["X-Sendfile"] = str(Path(settings.MEDIA_ROOT) / stored.name)
    else:
        raise ImproperlyConfigured(f"PSA_FILES_SERVE must be one of {', '.join(SERVE_MODES)}, not {mode!r}.")
    if stored.sha256:
        response["ETag"] = f'"{stored.sha256}"'
        response["X-Content-SHA256"] = stored.sha256
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    if stored.as_attachment or stored.content_type == "image/svg+xml":
        # An SVG shown inline (an entity's logo) is a document that could hold script: it gets the sandbox too.
        # A download never needs to run anything; Chromium refuses to show a PDF inline under `sandbox`, so a
        # file shown in the browser (a receipt) keeps the site's policy and its checked content type instead.
        response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response
