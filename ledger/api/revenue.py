"""Revenue API (finance): schedules (set the method), estimates to complete, recognition runs (start one, watch its
progress), the month-end checklist and the revenue reports as JSON. Writes go through ledger.services.revenue."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from ledger.api.serializers import EntityQueryField, entity_id_of
from ledger.choices import PeriodStatus, RecognitionMethod
from ledger.models import AccountingPeriod, PeriodClose, ProjectEstimate, RecognitionRun, RevenueSchedule
from ledger.selectors.close import close_checklist
from ledger.selectors.margin import margin_report
from ledger.selectors.revenue import (
    REVENUE_GROUPS,
    backlog,
    forecast_currencies,
    revenue_by,
    revenue_forecast,
    rollforward,
)
from ledger.services.revenue import estimate_set, recognition_run_start, revenue_schedule_method_set
from psa.core.api import DateField, GenericViewSet, ReadOnlyModelViewSet
from psa.core.entities import entity_default
from psa.core.roles import Role

FINANCE = (Role.FINANCE,)


def _money(value) -> str:
    return f"{value:.2f}"


class RevenueScheduleSerializer(serializers.ModelSerializer):
    method = serializers.CharField(read_only=True, help_text="as_delivered, percent_hours, percent_cost, ...")
    contract = serializers.CharField(source="contract_line.contract.number", read_only=True)
    billing_model = serializers.CharField(source="contract_line.billing_model", read_only=True)

    class Meta:
        model = RevenueSchedule
        fields = [
            "id", "contract_line", "contract", "billing_model", "project", "client", "method", "price", "start",
            "end", "baseline", "recognised", "provision", "last_period",
        ]  # fmt: skip


class MethodInputSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=RecognitionMethod.choices)


class EstimateSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProjectEstimate
        fields = ["id", "project", "as_of", "etc_hours", "etc_cost", "note", "created_at"]
        read_only_fields = ["id", "created_at"]


class EstimateInputSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    as_of = DateField(required=False)
    # Strings, so a negative number reaches the service and is refused there by name.
    etc_hours = serializers.CharField()
    etc_cost = serializers.CharField(required=False, allow_blank=True, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class RecognitionRunSerializer(serializers.ModelSerializer):
    period = serializers.CharField(source="period.label", read_only=True)
    status = serializers.CharField(read_only=True, help_text="running, done, done_with_errors or failed")
    percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = RecognitionRun
        fields = [
            "id", "period", "status", "total", "processed", "percent", "posted_lines", "amount", "errors",
            "started_at", "finished_at",
        ]  # fmt: skip


class RunInputSerializer(serializers.Serializer):
    period = serializers.IntegerField(help_text="Id of an open accounting period.")


class RangeQuerySerializer(serializers.Serializer):
    entity = EntityQueryField()
    start = DateField()
    end = DateField()
    client = serializers.IntegerField(required=False)
    project = serializers.IntegerField(required=False)
    by = serializers.ChoiceField(choices=list(REVENUE_GROUPS), required=False, default="method")


class ChecklistQuerySerializer(serializers.Serializer):
    entity = EntityQueryField(help_text="The legal entity whose close it is (its id); left out: the default entity.")


class BacklogRowSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    currency = serializers.CharField(help_text="The contracts' currency (ISO 4217): one row per month and currency.")
    contracted = serializers.DecimalField(max_digits=18, decimal_places=2)
    recognised = serializers.DecimalField(max_digits=18, decimal_places=2)
    backlog = serializers.DecimalField(max_digits=18, decimal_places=2)


class ForecastRowSerializer(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    currency = serializers.CharField(help_text="The contracts' and deals' currency: one row per month and currency.")
    recognised = serializers.DecimalField(max_digits=18, decimal_places=2)
    scheduled = serializers.DecimalField(max_digits=18, decimal_places=2)
    pipeline = serializers.DecimalField(max_digits=18, decimal_places=2)
    total = serializers.DecimalField(max_digits=18, decimal_places=2)


class RevenueScheduleViewSet(ReadOnlyModelViewSet):
    queryset = RevenueSchedule.objects.select_related("contract_line__contract").order_by("project_id", "id")
    serializer_class = RevenueScheduleSerializer
    allowed_roles = FINANCE
    filterset_fields = ["method", "project", "client"]

    @extend_schema(request=MethodInputSerializer, responses=RevenueScheduleSerializer)
    @action(detail=True, methods=["post"])
    def method(self, request, pk=None):
        data = MethodInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        schedule = revenue_schedule_method_set(
            schedule_id=self.get_object().pk, method=data.validated_data["method"], by=request.user
        )
        return Response(RevenueScheduleSerializer(schedule).data)


class ProjectEstimateViewSet(mixins.CreateModelMixin, ReadOnlyModelViewSet):
    queryset = ProjectEstimate.objects.order_by("project_id", "-as_of")
    serializer_class = EstimateSerializer
    allowed_roles = (Role.FINANCE, Role.PROJECT_MANAGER)
    filterset_fields = ["project"]

    @extend_schema(request=EstimateInputSerializer, responses=EstimateSerializer)
    def create(self, request, *args, **kwargs):
        data = EstimateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        estimate = estimate_set(
            project_id=v["project"],
            etc_hours=v["etc_hours"],
            etc_cost=v.get("etc_cost") or None,
            as_of=v.get("as_of"),
            note=v.get("note", ""),
            by=request.user,
        )
        return Response(EstimateSerializer(estimate).data, status=status.HTTP_201_CREATED)


class RecognitionRunViewSet(mixins.CreateModelMixin, ReadOnlyModelViewSet):
    queryset = RecognitionRun.objects.select_related("period")
    serializer_class = RecognitionRunSerializer
    allowed_roles = FINANCE
    filterset_fields = ["status", "period"]

    @extend_schema(request=RunInputSerializer, responses=RecognitionRunSerializer)
    def create(self, request, *args, **kwargs):
        data = RunInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = recognition_run_start(period_id=data.validated_data["period"], by=request.user)
        return Response(RecognitionRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class RevenueReportViewSet(GenericViewSet):
    """Month-end checklist and revenue reports as JSON (the HTML pages offer the same as CSV)."""

    allowed_roles = FINANCE
    pagination_class = None
    filter_backends: list = []  # reports take their range from RangeQuerySerializer, not a FilterSet

    def _range(self, request) -> dict:
        q = RangeQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        return q.validated_data

    @extend_schema(parameters=[ChecklistQuerySerializer], responses=dict)
    @action(detail=False, methods=["get"], url_path=r"checklist/(?P<period_id>\d+)")
    def checklist(self, request, period_id=None):
        """The month-end checklist of a month (firm-wide) and whether the month is closed for the entity
        (`entity`, default: the default entity)."""
        period = get_object_or_404(AccountingPeriod, pk=period_id)
        q = ChecklistQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        entity = q.validated_data.get("entity") or entity_default()
        closed = PeriodClose.objects.filter(period=period, entity=entity).exists()
        return Response(
            {
                "period": period.label,
                "entity": entity.code,
                "status": PeriodStatus.CLOSED if closed else PeriodStatus.OPEN,
                "items": [
                    {"key": r.key, "label": r.label, "done": r.done, "blocking": r.blocking, "count": r.result.count,
                     "amount": _money(r.result.amount) if r.result.amount is not None else None,
                     "detail": r.result.detail}
                    for r in close_checklist(period)
                ],
            }
        )  # fmt: skip

    @extend_schema(parameters=[RangeQuerySerializer], responses=dict)
    @action(detail=False, methods=["get"])
    def revenue(self, request):
        v = self._range(request)
        report = revenue_by(
            start=v["start"], end=v["end"], by=v["by"], client_id=v.get("client"), project_id=v.get("project")
        )
        return Response(
            {
                "by": report.by,
                "rows": [
                    {
                        "key": str(r["key"]),
                        "label": r["label"],
                        "currency": r["currency"],
                        "amount": _money(r["amount"]),
                    }
                    for r in report.rows
                ],
                "total": _money(report.total) if report.total is not None else None,
                "totals": report.totals.as_dict(),
                "gl_total": _money(report.gl_total),
                "gl_by_currency": {c: _money(v) for c, v in report.gl_by_currency.items()},
                "reconciles": report.reconciles,
            }
        )

    @extend_schema(parameters=[RangeQuerySerializer], responses=dict)
    @action(detail=False, methods=["get"])
    def rollforward(self, request):
        v = self._range(request)
        report = rollforward(
            start=v["start"],
            end=v["end"],
            client_id=v.get("client"),
            project_id=v.get("project"),
            entity_id=entity_id_of(v),
        )
        names = ("opening", "billed", "recognised", "exchange", "other", "closing", "unbilled", "deferred")
        return Response(
            {
                "rows": [
                    {"project": r["project_id"], "code": r["project__code"], **{n: _money(r[n]) for n in names}}
                    | {"currency": r["currency"], "closing_in_currency": _money(r["closing_currency"])}
                    for r in report.rows
                ],
                "totals": {n: _money(report.totals[n]) for n in names},
                "gl_closing": _money(report.gl_closing),
                "reconciles": report.reconciles,
            }
        )

    @extend_schema(parameters=[RangeQuerySerializer], responses=BacklogRowSerializer(many=True))
    @action(detail=False, methods=["get"])
    def backlog(self, request):
        v = self._range(request)
        rows = backlog(start=v["start"], end=v["end"], client_id=v.get("client"))
        return Response(
            [
                {
                    "month": f"{r['month']:%Y-%m}",
                    "currency": r["currency"],
                    **{n: _money(r[n]) for n in ("contracted", "recognised", "backlog")},
                }
                for r in rows
            ]
        )

    @extend_schema(parameters=[RangeQuerySerializer], responses=dict)
    @action(detail=False, methods=["get"])
    def margin(self, request):
        """Project margin per project (ledger.selectors.margin): GL revenue - GL project cost, of one entity or of
        all (intercompany eliminated), with approved hours, effective rate, cost not yet posted by the cost run,
        and the reconciliation to the P&L by project."""
        v = self._range(request)
        report = margin_report(start=v["start"], end=v["end"], client_id=v.get("client"), entity_id=entity_id_of(v))

        def figures(r) -> dict:
            return {
                **{n: _money(getattr(r, n)) for n in ("revenue", "cost", "margin")},
                "margin_pct": None if r.margin_pct is None else str(r.margin_pct),
                "approved_hours": str(r.hours),
                "effective_rate": None if r.effective_rate is None else str(r.effective_rate),
            }

        return Response(
            {
                "rows": [
                    {
                        "project": r.project_id,
                        **figures(r),
                        "cost_not_yet_posted": None if r.unposted is None else _money(r.unposted),
                    }
                    for r in report.rows
                ],
                "totals": {
                    **figures(report.totals),
                    "cost_not_yet_posted": None if report.unposted is None else _money(report.unposted),
                },
                "pnl": {
                    "revenue": _money(report.pnl_revenue),
                    "cost": _money(report.pnl_cost),
                    "eliminated_revenue": _money(report.eliminated_revenue),
                    "eliminated_cost": _money(report.eliminated_cost),
                },
                "reconciles": report.reconciles,
            }
        )

    @extend_schema(parameters=[RangeQuerySerializer], responses=ForecastRowSerializer(many=True))
    @action(detail=False, methods=["get"])
    def forecast(self, request):
        v = self._range(request)
        today = timezone.localdate()
        reports = [
            revenue_forecast(start=v["start"], end=v["end"], today=today, currency=code)
            for code in forecast_currencies()
        ]
        return Response(
            [
                {"month": f"{m:%Y-%m}", "currency": r.currency, "recognised": _money(a), "scheduled": _money(b),
                 "pipeline": _money(c), "total": _money(t)}
                for r in reports
                for m, a, b, c, t in zip(r.months, r.recognised, r.scheduled, r.pipeline, r.totals, strict=True)
            ]
        )  # fmt: skip
