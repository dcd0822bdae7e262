"""The exports page and its CSV downloads (streamed, role-scoped, filtered by a date range)."""

from datetime import date

from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from psa.core.dates import month_start, parse_date
from psa.core.exceptions import ValidationFailed
from psa.core.replica import replica_view
from psa.core.roles import Role, has_role, role_required
from psa.web.exports import INVOICE_COLUMN_DOCS, TIME_COLUMN_DOCS, invoices_csv, time_columns, time_csv

EXPORT_ROLES = (Role.FINANCE, Role.ADMIN, Role.PROJECT_MANAGER)
MAX_DAYS = 3 * 366


def _range(request) -> tuple[date | None, date | None, dict[str, str]]:
    today = timezone.localdate()
    errors, values = {}, {}
    for name, default in (("start", month_start(today)), ("end", today)):
        raw = request.GET.get(name, "")
        if not raw:
            values[name] = default
            continue
        try:
            values[name] = parse_date(raw, field=name)
        except ValidationFailed as exc:
            errors[name] = f"'{raw}': {exc.fields[name][0]}"
    if not errors and values["end"] < values["start"]:
        errors["end"] = "The end date must be on or after the start date."
    if not errors and (values["end"] - values["start"]).days > MAX_DAYS:
        errors["start"] = "Export at most three years at a time."
    return values.get("start"), values.get("end"), errors


def _download(stream, name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@role_required(*EXPORT_ROLES)
def exports(request):
    start, end, errors = _range(request)
    context = {
        "start": request.GET.get("start") or (start.isoformat() if start else ""),
        "end": request.GET.get("end") or (end.isoformat() if end else ""),
        "errors": errors,
        "finance": has_role(request.user, Role.FINANCE, Role.ADMIN),
        "invoice_columns": list(INVOICE_COLUMN_DOCS.items()),
        "time_columns": [(c, TIME_COLUMN_DOCS[c]) for c in time_columns(request.user)],
    }
    return render(request, "web/exports/exports.html", context, status=400 if errors else 200)


@role_required(*EXPORT_ROLES)
@replica_view
def export_invoices(request):
    if not has_role(request.user, Role.FINANCE, Role.ADMIN):
        raise PermissionDenied("Invoice exports are for finance.")
    start, end, errors = _range(request)
    if errors:
        return exports(request)
    return _download(invoices_csv(start=start, end=end), f"invoices-{start:%Y%m%d}-{end:%Y%m%d}.csv")


@role_required(*EXPORT_ROLES)
@replica_view
def export_time(request):
    start, end, errors = _range(request)
    if errors:
        return exports(request)
    return _download(time_csv(user=request.user, start=start, end=end), f"time-{start:%Y%m%d}-{end:%Y%m%d}.csv")
