"""The executive dashboard page and its API (GET /api/v1/dashboard/?start=&end=)."""

from decimal import Decimal

from django.shortcuts import render
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from psa.conf import settings_value
from psa.core.currency import functional_currency
from psa.core.exceptions import DomainError
from psa.core.forms import error_text
from psa.core.kpis import KPIS
from psa.core.pagecache import shared_result, wrote_recently
from psa.core.replica import replica_view
from psa.core.roles import HasRole, Role, role_required
from psa.web.dashboard import dashboard_range, executive_dashboard, visible_for

DASHBOARD_ROLES = (Role.FINANCE, Role.ADMIN, Role.PROJECT_MANAGER, Role.SALES)

# The rows of the table, in order; labels and formulas come from psa.core.kpis (one definition per figure).
ROWS = (
    "revenue", "cost", "project_margin", "billed", "collected", "write_offs", "ar", "unbilled", "dso", "backlog",
    "weighted_pipeline", "utilization", "forecast_hours", "actual_hours", "forecast_revenue",
)  # fmt: skip
CHARTS = [
    ("dash-money", "Revenue, cost, billing and cash per month", "bar",
     ("revenue", "cost", "project_margin", "billed", "collected")),
    ("dash-balances", "Backlog, pipeline, unbilled and receivables at each month end", "line",
     ("backlog", "weighted_pipeline", "unbilled", "ar")),
    ("dash-hours", "Planned and actual hours per month", "line", ("forecast_hours", "actual_hours")),
    ("dash-rates", "Utilization and days sales outstanding", "line", ("utilization", "dso")),
]  # fmt: skip
COLOURS = ["#0d6efd", "#dc3545", "#198754", "#6f42c1", "#fd7e14", "#20c997", "#6c757d"]


def _json(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _charts(dash) -> list[dict]:
    labels = [m.strftime("%b %Y") for m in dash.months]
    out = []
    for chart_id, title, kind, keys in CHARTS:
        keys = tuple(k for k in keys if k in dash.series)
        if not keys:
            continue
        out.append(
            {
                "id": chart_id,
                "title": title,
                "type": kind,
                "data": {
                    "labels": labels,
                    "datasets": [
                        {
                            "label": KPIS[k].label,
                            "data": [None if v is None else str(v) for v in dash.series[k]],
                            "backgroundColor": COLOURS[i % len(COLOURS)],
                            "borderColor": COLOURS[i % len(COLOURS)],
                        }
                        for i, k in enumerate(keys)
                    ],
                },
                "options": {"plugins": {"legend": {"position": "bottom"}, "title": {"display": False, "text": title}}},
            }
        )
    return out


@role_required(*DASHBOARD_ROLES)
@replica_view
def dashboard(request):
    series_keys, kpi_keys = visible_for(request.user)
    error, dash, computed_at = None, None, None
    try:
        start, end = dashboard_range(
            start=request.GET.get("start"), end=request.GET.get("end"), today=timezone.localdate()
        )
    except DomainError as exc:
        error = exc
    else:
        # every reader's figures over the range, computed once per PSA_PAGE_CACHE_SECONDS (psa.core.pagecache);
        # each role's trimming is applied after
        shared = shared_result(
            f"dashboard:{start.isoformat()}:{end.isoformat()}",
            lambda: executive_dashboard(start=start, end=end),
            fresh=wrote_recently(request),
        )
        computed_at = shared.as_of
        dash = shared.value.trimmed(series_keys, kpi_keys)
        if not request.GET.get("start"):
            dash = dash.from_first_data()
    rows = []
    if dash:
        rows = [{"key": k, "values": dash.series[k]} for k in ROWS if k in dash.series]
    context = {
        "dash": dash,
        "computed_at": computed_at,
        "cache_seconds": settings_value("PSA_PAGE_CACHE_SECONDS"),
        "error": error,
        "error_text": error_text(error) if error else "",
        "rows": rows,
        "charts": _charts(dash) if dash else [],
        "start": request.GET.get("start", dash.start.isoformat() if dash else ""),
        "end": request.GET.get("end", dash.end.isoformat() if dash else ""),
        "full": "project_margin" in series_keys,
        "functional": functional_currency(),
        "definitions": " ".join(k for k in (*ROWS, *kpi_keys) if k in series_keys or k in kpi_keys),
    }
    return render(request, "web/dashboard/dashboard.html", context, status=400 if error else 200)


class DashboardAPI(APIView):
    """The dashboard's series by month and its KPIs over `start`..`end` (whole months); trimmed by role. Money
    series are in `functional_currency`; `currencies` gives billed and weighted pipeline per currency with the
    functional total at named, dated rates (null total and a message when a rate is missing)."""

    permission_classes = [HasRole]
    allowed_roles = DASHBOARD_ROLES

    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATE, description="First month (any day in it)."),
            OpenApiParameter("end", OpenApiTypes.DATE, description="Last month (any day in it); at most 36 months."),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @replica_view
    def get(self, request):
        start, end = dashboard_range(
            start=request.query_params.get("start"), end=request.query_params.get("end"), today=timezone.localdate()
        )
        series_keys, kpi_keys = visible_for(request.user)
        dash = executive_dashboard(start=start, end=end).trimmed(series_keys, kpi_keys)
        if not request.GET.get("start"):
            dash = dash.from_first_data()
        return Response(
            {
                "start": dash.start,
                "end": dash.end,
                "months": [m.isoformat()[:7] for m in dash.months],
                "series": _json(dash.series),
                "kpis": _json(dash.kpis),
                "functional_currency": functional_currency(),
                # billed and weighted pipeline over the range per currency, with the functional total and rates
                "currencies": {k: t.as_dict() for k, t in dash.currencies.items()},
            }
        )
