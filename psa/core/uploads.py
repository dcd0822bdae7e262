"""Upload limits: one size limit per kind of upload, stated on its form and enforced from the request's
declared length (Content-Length) before anything reads the body.

Under WSGI the body can never be longer than its declared length (Django reads at most CONTENT_LENGTH bytes,
and none without it), so refusing an oversized declaration refuses the upload without reading a byte of it. A
declaration within the limit plus ENVELOPE (room for the multipart headers and the form's other fields) is read;
the file's exact size is then checked by the form or the service against the same limit.
"""

from dataclasses import dataclass
from functools import wraps

from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from psa.core.exceptions import PayloadTooLarge

MB = 1024 * 1024
ENVELOPE = 64 * 1024


@dataclass(frozen=True)
class UploadLimit:
    kind: str  # names the upload: crm, time, bank, receipt
    label: str  # what the message calls the files: "bank statements"
    max_bytes: int
    max_rows: int | None = None
    field: str = "file"

    @property
    def size(self) -> str:
        return f"{self.max_bytes / MB:g} MB"

    def describe(self) -> str:
        rows = f" and {self.max_rows:,} rows" if self.max_rows else ""
        return f"at most {self.size}{rows}"

    def too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"The file is larger than {self.size}, the limit for {self.label}; split it.",
            fields={self.field: [f"At most {self.size}."]},
        )

    def check(self, size: int) -> None:
        """Refuse content over the limit (the service's own check, whoever calls it)."""
        if size > self.max_bytes:
            raise self.too_large()

    def declared_over(self, request) -> bool:
        """Whether the request declares a body longer than this upload may be (read from the headers only)."""
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return False
        return length > self.max_bytes + ENVELOPE


def upload_limited(limit: UploadLimit):
    """Page decorator: a POST declaring more than `limit` is answered 413 before the body is read.

    The CSRF check reads the form body, so it moves inside the view (after this check); the view stays
    CSRF-protected for every request that gets that far."""

    def decorate(view):
        protected = csrf_protect(view)

        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method == "POST" and limit.declared_over(request):
                context = {"limit": limit, "message": limit.too_large().message, "back": request.path}
                return render(request, "upload_too_large.html", context, status=413)
            return protected(request, *args, **kwargs)

        return csrf_exempt(wrapped)

    return decorate


class UploadLimitMixin:
    """API views: a POST declaring more than `upload_limit` is a 413 before the body is parsed."""

    upload_limit: UploadLimit

    def initial(self, request, *args, **kwargs):
        if request.method == "POST" and self.upload_limit.declared_over(request):
            raise self.upload_limit.too_large()
        super().initial(request, *args, **kwargs)
