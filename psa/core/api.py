"""API plumbing shared by every app: one error format, pagination, and Idempotency-Key on every POST.

Errors are always `{"code": str, "message": str, "fields": {name: [messages]}}`:
400 bad input, 401 not logged in, 403 role refused, 404 not in the caller's scope, 405 wrong method,
409 conflict with the current state (status, already done, idempotency key reused with another payload).
"""

import hashlib
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, models, transaction
from django.http import Http404, JsonResponse
from django.utils.datastructures import MultiValueDict
from django.views import defaults
from rest_framework import exceptions as drf_exceptions
from rest_framework import generics, serializers, viewsets
from rest_framework import views as drf_views
from rest_framework.permissions import BasePermission, OperandHolder, SingleOperandHolder
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from psa.core.dates import OUT_OF_RANGE, in_range
from psa.core.exceptions import DomainError, IdempotencyConflict, IdempotencyInProgress
from psa.core.models import IdempotencyRecord
from psa.core.pagination import DefaultPagination, KeysetPagination  # noqa: F401 (re-exported)
from psa.core.roles import HasRole


def _flatten_detail(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for name, value in detail.items():
            if isinstance(value, dict):
                for sub, msgs in _flatten_detail(value).items():
                    out[f"{name}.{sub}"] = msgs
            elif isinstance(value, list):
                flat: list[str] = []
                for i, item in enumerate(value):
                    if isinstance(item, dict):
                        for sub, msgs in _flatten_detail(item).items():
                            out[f"{name}[{i}].{sub}"] = msgs
                    else:
                        flat.append(str(item))
                if flat:
                    out[name] = flat
            else:
                out[name] = [str(value)]
        return out
    if isinstance(detail, list):
        return {"non_field_errors": [str(d) for d in detail]}
    return {}


_DRF_CODES = {
    400: "validation_failed",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    415: "unsupported_media_type",
    429: "throttled",
}


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    return {"code": code, "message": message, "fields": fields or {}}


def exception_handler(exc, context):
    """Turn every error into the one format, with a precise status."""
    if isinstance(exc, DomainError):
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        fields = {("non_field_errors" if k == "__all__" else k): v for k, v in fields.items()}
        return Response(error_body("validation_failed", "Some fields are not valid.", fields), status=400)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, drf_exceptions.APIException):
        status = exc.status_code
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        if isinstance(exc, drf_exceptions.ValidationError):
            fields = _flatten_detail(exc.detail)
            message = "Some fields are not valid: " + ", ".join(sorted(fields)) + "." if fields else "Invalid."
            if list(fields) == ["non_field_errors"]:
                message = fields["non_field_errors"][0]
            return Response(error_body("validation_failed", message, fields), status=400)
        code = _DRF_CODES.get(status, "error")
        message = str(exc.detail) if not isinstance(exc.detail, dict | list) else str(exc)
        return Response(error_body(code, message), status=status, headers=headers)
    return None  # unexpected: a 500, logged by Django


def _file_digest(upload: UploadedFile) -> dict:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return {"sha256": digest.hexdigest()}


def _payload(data):
    """The payload as the fingerprint sees it: each uploaded file by the sha256 of its bytes (its name and
    content type left out, so the same bytes are the same request and other bytes under the same name are
    not); form fields and JSON as sent."""
    if isinstance(data, MultiValueDict):
        return {key: [_file_digest(v) if isinstance(v, UploadedFile) else v for v in data.getlist(key)] for key in data}
    return data


# --- outside DRF: Django's own 400/403/404/500 under /api/ answer in the same format -------------------------
API_PREFIX = "/api/"


def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def bad_request(request, exception):
    if _is_api(request):
        return JsonResponse(error_body("bad_request", "The request could not be read."), status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request, exception):
    if _is_api(request):
        return JsonResponse(error_body("permission_denied", str(exception) or "Not allowed."), status=403)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    if _is_api(request):
        return JsonResponse(error_body("not_found", f"No API endpoint at {request.path}."), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """A 500 says nothing about its cause (that goes to the log), in JSON under /api/."""
    if _is_api(request):
        body = error_body("server_error", "Something went wrong on our side; it has been logged.")
        return JsonResponse(body, status=500)
    return defaults.server_error(request)


# --- OpenAPI: every operation documents the error answers it can give -------------------------------------
ERROR_COMPONENT = {
    "type": "object",
    "description": "Every error: a stable code, a message, and the fields it concerns (name -> messages).",
    "properties": {
        "code": {"type": "string"},
        "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "required": ["code", "message", "fields"],
}
ERRORS_EVERY_OPERATION = {
    "400": "Bad input: a query parameter, path id or body field is not valid (named in `fields`).",
    "401": "Not signed in (token authentication).",
    "403": "Not signed in (session), or the role does not allow this.",
    "404": "No such object in the caller's scope, or no such page.",
    "429": "Too many requests; retry after the `Retry-After` header.",
}
ERRORS_WRITES = {
    "409": "The request conflicts with the current state (status, already done, Idempotency-Key reused).",
    "415": "The body's media type is not accepted.",
}


def schema_document_errors(result, generator, request, public):
    """drf-spectacular post-processing hook: add the Error component and the error statuses each operation can
    answer (400/401/403/404/429 everywhere, 409/415 on writes) where a view did not document them itself."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_COMPONENT
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            statuses = dict(ERRORS_EVERY_OPERATION)
            if method != "get":
                statuses.update(ERRORS_WRITES)
            responses = operation.setdefault("responses", {})
            for status, description in statuses.items():
                responses.setdefault(status, {"description": description, "content": reference})
    return result


def request_fingerprint(method: str, path: str, data) -> str:
    try:
        body = json.dumps(_payload(data), sort_keys=True, default=str)
    except TypeError:
        body = repr(data)
    return hashlib.sha256(f"{method}\n{path}\n{body}".encode()).hexdigest()


class _Replay(Exception):
    def __init__(self, record: IdempotencyRecord) -> None:
        self.record = record


class IdempotentMixin:
    """Honour `Idempotency-Key` on POST: same key + same payload replays the first response with one side
    effect; same key + different payload is a 409. The payload of an upload is its files' bytes (not their
    names).

    The key row is inserted inside the request's transaction, before the write it guards: a concurrent
    duplicate blocks on the unique index until the first commits, then replays its response. Only successful
    responses (below 400) are kept: a request refused with a 4xx (a service refusal is one transaction that
    wrote nothing) or failing with a server error releases its key, so the client may retry, corrected or not,
    with the same key.
    """

    idempotency_header = "Idempotency-Key"

    def dispatch(self, request, *args, **kwargs):
        if request.method == "POST" and request.headers.get(self.idempotency_header):
            with transaction.atomic():
                return super().dispatch(request, *args, **kwargs)
        return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._idempotency_record = None
        key = request.headers.get(self.idempotency_header)
        if request.method != "POST" or not key:
            return
        if len(key) > 255:
            raise drf_exceptions.ValidationError({"Idempotency-Key": ["At most 255 characters."]})
        fingerprint = request_fingerprint(request.method, request.path, request.data)
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user=request.user,
                    key=key,
                    fingerprint=fingerprint,
                    method=request.method,
                    path=request.path[:500],
                )
        except IntegrityError:
            record = IdempotencyRecord.objects.get(user=request.user, key=key)
            if record.fingerprint != fingerprint:
                raise IdempotencyConflict(
                    f"Idempotency-Key '{key}' was already used for a different request "
                    f"({record.method} {record.path}).",
                    fields={"Idempotency-Key": ["Reused with a different payload."]},
                ) from None
            if record.response_status is None:
                raise IdempotencyInProgress() from None
            raise _Replay(record) from None
        self._idempotency_record = record

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            response = Response(exc.record.response_body, status=exc.record.response_status)
            response["Idempotent-Replayed"] = "true"
            return response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        record = getattr(self, "_idempotency_record", None)
        if record is None:
            return response
        if response.status_code >= 400:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        body = json.loads(JSONRenderer().render(response.data) or b"null")
        IdempotencyRecord.objects.filter(pk=record.pk).update(response_status=response.status_code, response_body=body)
        return response


class SignedOutIs401Mixin:
    """A signed-out caller gets 401 with the scheme to use (`WWW-Authenticate`), not 403: DRF answers 401 only
    when the first authenticator names a scheme, and session authentication (first here) names none."""

    def get_authenticate_header(self, request):
        for authenticator in self.get_authenticators():
            if header := authenticator.authenticate_header(request):
                return header
        return None


class DateField(serializers.DateField):
    """A date within the years the product handles (psa.core.dates): year 1 or 9999 is a 400 naming the field."""

    default_error_messages = {"out_of_range": OUT_OF_RANGE}

    def to_internal_value(self, value):
        day = super().to_internal_value(value)
        if not in_range(day):
            self.fail("out_of_range")
        return day


class NumericLookupMixin:
    """Object URLs take a whole-number id: `/entries/abc/reverse/` is a 400 naming `id` (after the role check,
    before anything is looked up or any Idempotency-Key recorded), not a database error."""

    lookup_value_regex = "[^/]+"  # anything up to the next slash reaches the view, which refuses it clearly
    if TYPE_CHECKING:  # given by the DRF view this mixes into
        lookup_field: str

        def get_queryset(self) -> models.QuerySet: ...

    def check_permissions(self, request):
        super().check_permissions(request)
        name = self.lookup_url_kwarg or self.lookup_field
        value = self.kwargs.get(name)
        if value is None or (value.isascii() and value.isdigit()) or not self._integer_lookup():
            return
        raise drf_exceptions.ValidationError({"id" if name == "pk" else name: ["A whole number is required."]})

    def _integer_lookup(self) -> bool:
        """Only integer keys are checked here (a UUID key is DRF's own business: a bad one is a 404)."""
        model = self.get_queryset().model
        field = model._meta.pk if self.lookup_field == "pk" else model._meta.get_field(self.lookup_field)
        return isinstance(field, models.IntegerField)


class RolePermissionMixin:
    """Role check for every API view: `allowed_roles`, optionally refined per action in `action_roles`."""

    permission_classes: Sequence[type[BasePermission] | OperandHolder | SingleOperandHolder] = [HasRole]
    allowed_roles: tuple = ()
    action_roles: dict = {}


class APIView(IdempotentMixin, RolePermissionMixin, drf_views.APIView):
    pass


class GenericAPIView(NumericLookupMixin, IdempotentMixin, RolePermissionMixin, generics.GenericAPIView):
    pass


class GenericViewSet(NumericLookupMixin, IdempotentMixin, RolePermissionMixin, viewsets.GenericViewSet):
    pass


class ReadOnlyModelViewSet(NumericLookupMixin, IdempotentMixin, RolePermissionMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ModelViewSet(NumericLookupMixin, IdempotentMixin, RolePermissionMixin, viewsets.ModelViewSet):
    pass
