"""Intercompany API (finance):

- `GET/POST /api/v1/ledger/transfer-rates/`: the dated transfer rates; POST adds one (400 naming the field).
- `GET/POST /api/v1/ledger/intercompany-runs/`: POST {"month": "2026-03-01"} starts the month's recharge (202, the
  job runs in the background); hours without a transfer rate are a 409 naming the pair, role and date, and nothing
  is started.
- `GET /api/v1/ledger/intercompany/matching/?year=`: both sides per entity pair and month.
- `GET /api/v1/ledger/intercompany/consolidation/?currency=&at=`: the consolidated trial balance.
Writes go through ledger.services.intercompany."""

from decimal import Decimal

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from ledger.models import IntercompanyRun, TransferRate
from ledger.selectors.consolidation import consolidation
from ledger.selectors.intercompany import ic_matching
from ledger.services.intercompany import recharge_start, transfer_rate_create
from psa.core.api import DateField, GenericViewSet, ReadOnlyModelViewSet
from psa.core.currency import CURRENCY_CODES, functional_currency
from psa.core.roles import Role

FINANCE = (Role.FINANCE,)
MAX_ID = 2**31 - 1


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


class TransferRateSerializer(serializers.ModelSerializer):
    supplier = serializers.CharField(source="supplier.code", read_only=True)
    receiver = serializers.CharField(source="receiver.code", read_only=True)
    role = serializers.CharField(source="role.name", read_only=True, default=None)

    class Meta:
        model = TransferRate
        fields = [
            "id", "supplier", "supplier_id", "receiver", "receiver_id", "role", "role_id", "markup_percent",
            "valid_from", "valid_to", "note",
        ]  # fmt: skip


class TransferRateInputSerializer(serializers.Serializer):
    supplier = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="Id of the supplying (employing) entity."
    )
    receiver = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="Id of the receiving (project's) entity."
    )
    role = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, required=False, allow_null=True, default=None, help_text="Delivery role id."
    )
    markup_percent = serializers.CharField(max_length=20, help_text='0 to 1000, e.g. "10.00".')
    valid_from = DateField()
    valid_to = DateField(required=False, allow_null=True, default=None)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class TransferRateViewSet(mixins.CreateModelMixin, ReadOnlyModelViewSet):
    queryset = TransferRate.objects.select_related("supplier", "receiver", "role").order_by("pk")
    serializer_class = TransferRateSerializer
    allowed_roles = FINANCE
    filterset_fields = ["supplier", "receiver", "role"]

    @extend_schema(request=TransferRateInputSerializer, responses=TransferRateSerializer)
    def create(self, request, *args, **kwargs):
        data = TransferRateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        rate = transfer_rate_create(
            by=request.user,
            supplier_id=v["supplier"],
            receiver_id=v["receiver"],
            role_id=v["role"],
            markup_percent=v["markup_percent"],
            valid_from=v["valid_from"],
            valid_to=v["valid_to"],
            note=v["note"],
        )
        rate = self.get_queryset().get(pk=rate.pk)
        return Response(TransferRateSerializer(rate).data, status=status.HTTP_201_CREATED)


class IntercompanyRunSerializer(serializers.ModelSerializer):
    month = serializers.DateField(read_only=True)
    status = serializers.CharField(read_only=True, help_text="running, done, unchanged or failed")
    pairs = serializers.ListField(read_only=True, child=serializers.DictField())
    errors = serializers.ListField(read_only=True, child=serializers.DictField())  # type: ignore[assignment]  # the model field of that name

    class Meta:
        model = IntercompanyRun
        fields = ["id", "month", "status", "hours", "amount", "posted", "entries", "pairs", "errors", "started_at",
                  "finished_at"]  # fmt: skip


class RechargeInputSerializer(serializers.Serializer):
    month = DateField(help_text="Any day of the month to recharge.")


class IntercompanyRunViewSet(mixins.CreateModelMixin, ReadOnlyModelViewSet):
    queryset = IntercompanyRun.objects.all()
    serializer_class = IntercompanyRunSerializer
    allowed_roles = FINANCE
    filterset_fields = ["status", "month"]

    @extend_schema(request=RechargeInputSerializer, responses={202: IntercompanyRunSerializer})
    def create(self, request, *args, **kwargs):
        data = RechargeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = recharge_start(month=data.validated_data["month"], by=request.user)
        return Response(IntercompanyRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


class MatchingQuerySerializer(serializers.Serializer):
    year = serializers.IntegerField(required=False, min_value=1900, max_value=2999)


class ConsolidationQuerySerializer(serializers.Serializer):
    currency = serializers.ChoiceField(choices=sorted(CURRENCY_CODES), required=False)
    at = DateField(required=False, help_text="The period end; default today.")


class IntercompanyReportViewSet(GenericViewSet):
    """The matching report and the consolidated trial balance as JSON."""

    allowed_roles = FINANCE
    pagination_class = None

    @extend_schema(parameters=[MatchingQuerySerializer], responses=dict)
    @action(detail=False, methods=["get"])
    def matching(self, request):
        q = MatchingQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        rows = ic_matching(year=q.validated_data.get("year"))
        return Response(
            {
                "matched": all(r.matched for r in rows),
                "rows": [
                    {"month": r.month, "supplier": r.supplier.code, "receiver": r.receiver.code,
                     "receivable": _money(r.receivable), "payable": _money(r.payable),
                     "balance_difference": _money(r.balance_difference), "revenue": _money(r.revenue),
                     "cost": _money(r.cost), "result_difference": _money(r.result_difference), "matched": r.matched}
                    for r in rows
                ],
            }
        )  # fmt: skip

    @extend_schema(
        parameters=[ConsolidationQuerySerializer],
        responses={
            200: dict,
            409: OpenApiResponse(description="No closing rate, or no rate in the year, for the reporting currency."),
        },
    )
    @action(detail=False, methods=["get"])
    def consolidation(self, request):
        q = ConsolidationQuerySerializer(data=request.query_params)
        q.is_valid(raise_exception=True)
        v = q.validated_data
        report = consolidation(
            currency=v.get("currency") or functional_currency(), at=v.get("at") or timezone.localdate()
        )
        return Response(
            {
                "at": report.at,
                "currency": report.currency,
                "functional_currency": report.functional,
                "closing_rate": {"rate": str(report.closing.rate), "label": report.closing.label},
                "average_rate": {"rate": str(report.average.rate), "label": report.average.label},
                "entities": [e.code for e in report.entities],
                "rows": [
                    {"code": r.code, "name": r.name, "type": r.type, "basis": r.basis,
                     "functional": [_money(x) for x in r.functional], "translated": [_money(x) for x in r.translated],
                     "total": _money(r.total), "eliminated": _money(r.eliminated),
                     "consolidated": _money(r.consolidated)}
                    for r in report.rows
                ],
                "translation_reserve": _money(-report.reserve),
                "eliminated": _money(report.eliminated_total),
                "totals": {"assets": _money(report.assets), "liabilities": _money(report.liabilities),
                           "equity": _money(report.equity), "income": _money(report.income),
                           "expenses": _money(report.expenses), "profit": _money(report.profit),
                           "liabilities_and_equity": _money(report.liabilities_and_equity)},
                "balanced": report.balanced,
            }
        )  # fmt: skip
