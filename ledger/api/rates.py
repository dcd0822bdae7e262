"""Exchange rates API (/api/v1/exchange-rates/): the dated rate table, finance and admin only.

- GET lists rates (filters: currency, quote, date_from, date_to, source; page-numbered) and reads one.
- POST enters the rate of a date or corrects the one it has (201 created, 200 corrected or unchanged).
- PATCH /{id}/ corrects a rate; DELETE /{id}/ deletes it (journal lines keep their own rate: see psa.core.rates).
- POST /import/ takes the ECB's reference-rate file (multipart `file`, zip or CSV; `dry_run` true by default).
Writes go through psa.core.rates; refusals come back as {code, message, fields}.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from ledger.filtersets import ExchangeRateFilter
from psa.core.api import DateField, GenericViewSet
from psa.core.ecb import ECB_UPLOAD_LIMIT
from psa.core.models import ExchangeRate, RateSource
from psa.core.rates import exchange_rate_delete, exchange_rate_set, exchange_rates_import_ecb
from psa.core.roles import Role
from psa.core.uploads import UploadLimitMixin


class ExchangeRateSerializer(serializers.ModelSerializer):
    created_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = ExchangeRate
        fields = ["id", "currency", "quote", "date", "rate", "source", "created_by", "updated_at"]


class ExchangeRateInputSerializer(serializers.Serializer):
    currency = serializers.CharField(max_length=10, help_text="ISO 4217 code of the foreign currency.")
    date = DateField()
    rate = serializers.CharField(
        max_length=40, help_text="Units of the quote currency for one unit of `currency`, at most 10 places."
    )
    quote = serializers.CharField(
        max_length=10, required=False, allow_blank=True, default="", help_text="Default: the functional currency."
    )
    source = serializers.ChoiceField(choices=RateSource.choices, default=RateSource.API)  # type: ignore[assignment]  # a declared field, not the Field attribute of that name


class ExchangeRateCorrectSerializer(serializers.Serializer):
    rate = serializers.CharField(max_length=40)
    source = serializers.ChoiceField(choices=RateSource.choices, default=RateSource.API)  # type: ignore[assignment]  # a declared field, not the Field attribute of that name


class EcbImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="eurofxref.csv or eurofxref-hist.csv as the ECB publishes them, or its zip.")
    dry_run = serializers.BooleanField(default=True, help_text="true (default) reports and writes nothing.")


class ProblemSerializer(serializers.Serializer):
    line = serializers.IntegerField()
    message = serializers.CharField()


class CorrectionSerializer(serializers.Serializer):
    currency = serializers.CharField()
    date = serializers.DateField(source="day")
    old = serializers.DecimalField(max_digits=24, decimal_places=10)
    new = serializers.DecimalField(max_digits=24, decimal_places=10)


class EcbImportReportSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    layout = serializers.CharField(help_text="daily (eurofxref.csv) or history (eurofxref-hist.csv)")
    quote = serializers.CharField(help_text="The functional currency the rates convert into.")
    rows = serializers.IntegerField(help_text="Dates read.")
    first = serializers.DateField(allow_null=True)
    last = serializers.DateField(allow_null=True)
    currencies = serializers.ListField(child=serializers.CharField())
    skipped_currencies = serializers.ListField(child=serializers.CharField())
    created = serializers.IntegerField()
    updated = serializers.IntegerField(help_text="Corrections: dates that had a different rate.")
    unchanged = serializers.IntegerField()
    errors = serializers.IntegerField()  # type: ignore[assignment]  # a declared field, not the Field attribute of that name
    problems = ProblemSerializer(many=True)
    corrections = CorrectionSerializer(many=True)
    notes = serializers.ListField(child=serializers.CharField())


class ExchangeRateViewSet(UploadLimitMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    queryset = ExchangeRate.objects.select_related("created_by").order_by("currency", "-date", "id")
    serializer_class = ExchangeRateSerializer
    filterset_class = ExchangeRateFilter
    allowed_roles = (Role.FINANCE,)  # admin holds every staff role
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    upload_limit = ECB_UPLOAD_LIMIT
    ordering_fields = ["date", "currency", "rate"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(
        request=ExchangeRateInputSerializer, responses={200: ExchangeRateSerializer, 201: ExchangeRateSerializer}
    )
    def create(self, request):
        data = ExchangeRateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        change = exchange_rate_set(
            currency=v["currency"], on=v["date"], rate=v["rate"], source=v["source"], by=request.user,
            quote=v["quote"] or None,
        )  # fmt: skip
        code = status.HTTP_201_CREATED if change.created else status.HTTP_200_OK
        return Response(ExchangeRateSerializer(change.row).data, status=code)

    @extend_schema(request=ExchangeRateCorrectSerializer, responses=ExchangeRateSerializer)
    def partial_update(self, request, pk=None):
        row = get_object_or_404(ExchangeRate, pk=pk)
        data = ExchangeRateCorrectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        change = exchange_rate_set(
            currency=row.currency, quote=row.quote, on=row.date, by=request.user, **data.validated_data
        )
        return Response(ExchangeRateSerializer(change.row).data)

    def destroy(self, request, pk=None):
        exchange_rate_delete(rate_id=get_object_or_404(ExchangeRate, pk=pk).pk, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request={"multipart/form-data": EcbImportSerializer}, responses={200: EcbImportReportSerializer})
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_ecb(self, request):
        data = EcbImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        ECB_UPLOAD_LIMIT.check(upload.size)
        report = exchange_rates_import_ecb(file=upload, by=request.user, dry_run=data.validated_data["dry_run"])
        return Response(EcbImportReportSerializer(report).data)
