"""The checked file views: one for pages (sign-in redirect when signed out), one for the API (401 when signed
out, session or token). Both ask psa/web/files.py whether the user may read the object, else 404."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.permissions import IsAuthenticated
from rest_framework.views import APIView

from psa.core.api import SignedOutIs401Mixin
from psa.core.exceptions import DomainError
from psa.core.files import stored_file_response
from psa.web.files import FILE_KINDS, stored_file_for


@login_required
def stored_file(request, kind: str, pk: int):
    try:
        return stored_file_response(stored_file_for(user=request.user, kind=kind, pk=pk))
    except DomainError as error:  # e.g. an invoice whose e-invoice XML failed validation has no PDF: say why
        return HttpResponse(error.message, status=error.status, content_type="text/plain; charset=utf-8")


# What a stored file may be sent as: invoice PDFs, receipts (PDF or image), logos (image or SVG), a name without
# a known type.
FILE_MEDIA_TYPES = (
    "application/pdf", "image/png", "image/jpeg", "image/webp", "image/svg+xml", "application/octet-stream"
)  # fmt: skip


class AnyAccept(BaseContentNegotiation):
    """A file is sent whatever the client's Accept header asks for (errors are JSON as everywhere)."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class StoredFileAPI(SignedOutIs401Mixin, APIView):
    """A stored file (an issued invoice's PDF, an expense receipt) for a caller who may read its object."""

    permission_classes = [IsAuthenticated]
    content_negotiation_class = AnyAccept

    @extend_schema(
        parameters=[OpenApiParameter("kind", str, OpenApiParameter.PATH, enum=sorted(FILE_KINDS))],
        responses={
            **{(200, media_type): OpenApiTypes.BINARY for media_type in FILE_MEDIA_TYPES},
            401: OpenApiResponse(description="Not signed in."),
            404: OpenApiResponse(description="No such file, or not the caller's to read."),
            409: OpenApiResponse(description="The file cannot be made (an invoice whose e-invoice XML is invalid)."),
        },
    )
    def get(self, request, kind: str, pk: int):
        return stored_file_response(stored_file_for(user=request.user, kind=kind, pk=pk))
