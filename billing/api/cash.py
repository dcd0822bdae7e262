"""Cash API: /api/v1/billing/collections/ (open invoices by predicted risk, paginated, with the back-test) and
/api/v1/billing/cash-forecast/ (the weekly and monthly tables, per currency and converted, for the base or a
scenario). Finance and administrators only; decimals as strings; a bad parameter is a 400 naming it."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing.filtersets import CollectionsFilter
from billing.models import Invoice
from billing.selectors.cash_forecast import ForecastTable, cash_forecast, open_deals
from billing.selectors.collections import collections
from billing.views.cash import scenario_from_query
from psa.core.api import GenericViewSet
from psa.core.dates import parse_date
from psa.core.exceptions import ValidationFailed
from psa.core.pagination import DefaultPagination
from psa.core.roles import Role

FINANCE = (Role.FINANCE, Role.ADMIN)


class CollectionRowSerializer(serializers.Serializer):
    invoice_id = serializers.IntegerField()
    number = serializers.CharField()
    account_id = serializers.IntegerField()
    account = serializers.CharField()
    currency = serializers.CharField()
    due_date = serializers.DateField()
    balance = serializers.DecimalField(max_digits=18, decimal_places=2)
    functional_balance = serializers.DecimalField(max_digits=18, decimal_places=2)
    days_overdue = serializers.IntegerField()
    expected_date = serializers.DateField()
    expected_days_late = serializers.IntegerField()
    p_over_30 = serializers.FloatField(help_text="Probability of being paid more than 30 days late, 0 to 1.")
    expected_loss = serializers.DecimalField(max_digits=18, decimal_places=2)


def _as_of(request):
    raw = request.query_params.get("as_of")
    return parse_date(raw, field="as_of") if raw else timezone.localdate()


class CollectionsViewSet(GenericViewSet):
    """Open invoices ordered by expected loss of time value (balance x expected days late x the daily rate).
    Filters: `account`, `entity`, `currency`, `min_risk` (percent); `as_of`. The response's `backtest` says how far
    off past predictions were (MAE in days) against the due-date guess."""

    allowed_roles = FINANCE
    serializer_class = CollectionRowSerializer
    pagination_class = DefaultPagination
    queryset = Invoice.objects.none()  # for the schema; the rows come from the selector

    @extend_schema(
        parameters=[
            OpenApiParameter("as_of", OpenApiTypes.DATE),
            OpenApiParameter("account", OpenApiTypes.INT),
            OpenApiParameter("entity", OpenApiTypes.INT),
            OpenApiParameter("currency", OpenApiTypes.STR),
            OpenApiParameter("min_risk", OpenApiTypes.INT, description="P(> 30 days late) at least, percent."),
        ]
    )
    def list(self, request):
        f = CollectionsFilter(request.query_params, queryset=Invoice.objects.all())
        if not f.is_valid():
            raise ValidationFailed("The filters are not valid.", fields={k: list(v) for k, v in f.errors.items()})
        result = collections(as_of=_as_of(request), invoices=f.qs, min_risk=f.min_risk_value)
        page = self.paginate_queryset(result.rows)
        response = self.get_paginated_response(CollectionRowSerializer(page, many=True).data)
        b = result.backtest
        response.data["as_of"] = result.as_of.isoformat()
        response.data["functional_currency"] = result.functional
        response.data["annual_cost_of_capital"] = str(result.annual_rate)
        response.data["method"] = result.method
        response.data["backtest"] = {
            "cutoff": b.cutoff.isoformat() if b.cutoff else None,
            "trained_on": b.trained_on,
            "tested_on": b.tested_on,
            "mae_model_days": b.mae_model,
            "mae_due_date_guess_days": b.mae_naive,
        }
        return response


def _table(table: ForecastTable) -> dict:
    def strs(values):
        return None if values is None else [str(v) for v in values]

    return {
        "buckets": [{"start": a.isoformat(), "end": b.isoformat()} for a, b in table.buckets],
        "by_currency": {
            currency: {
                **{kind: strs(values) for kind, values in kinds.items()},
                "receipts": strs(table.receipts(currency)),
                "payments": strs(table.payments(currency)),
                "net": strs(table.net(currency)),
            }
            for currency, kinds in sorted(table.cells.items())
        },
        "functional_currency": table.functional,
        "converted": None
        if table.converted is None
        else {
            **{kind: strs(values) for kind, values in table.converted.items()},
            "receipts": strs(table.receipts()),
            "payments": strs(table.payments()),
            "net": strs(table.net()),
        },
        "rates": table.rates_text,
        "missing_rates": list(table.missing),
    }


class CashForecastViewSet(GenericViewSet):
    """The 13-week and 12-month cash forecast. A scenario in the query: `out=<deal id>` (repeatable) leaves a deal
    out, `p_<id>=<0-100>` changes its probability, `close_<id>=YYYY-MM-DD` moves its close date."""

    allowed_roles = FINANCE
    pagination_class = None
    queryset = Invoice.objects.none()

    @extend_schema(parameters=[OpenApiParameter("as_of", OpenApiTypes.DATE)], responses=OpenApiTypes.OBJECT)
    def list(self, request):
        as_of = _as_of(request)
        scenario, problems = scenario_from_query(request.query_params, open_deals())
        if problems:
            raise ValidationFailed(" ".join(problems), fields={"scenario": problems})
        forecast = cash_forecast(as_of=as_of, scenario=scenario)
        return Response(
            {
                "as_of": as_of.isoformat(),
                "scenario": scenario.as_dict(),
                "weekly": _table(forecast.weekly),
                "monthly": _table(forecast.monthly),
            }
        )
