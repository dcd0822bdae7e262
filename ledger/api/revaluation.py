"""Revaluation API (finance): `POST /api/v1/ledger/revaluations/` {"period": id} starts the month-end revaluation
of an open period (202, the job runs in the background; Idempotency-Key honoured like every POST; a missing rate or
a closed period is a 409 naming it) and `GET` lists the runs with the rates each used. Writes go through
ledger.services.revaluation."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from ledger.models import RevaluationRun
from ledger.services.revaluation import revaluation_start
from psa.core.api import ReadOnlyModelViewSet
from psa.core.roles import Role


class RevaluationRunSerializer(serializers.ModelSerializer):
    period = serializers.CharField(source="period.label", read_only=True)
    period_id = serializers.IntegerField(read_only=True)
    status = serializers.CharField(read_only=True, help_text="running, done, unchanged or failed")
    percent = serializers.IntegerField(read_only=True)
    entry = serializers.CharField(source="entry.number", read_only=True, default=None)
    rates = serializers.DictField(read_only=True, help_text='{"USD": ["0.92", "2026-01-31"]}: rate and its date')

    class Meta:
        model = RevaluationRun
        fields = [
            "id", "period", "period_id", "status", "items", "total", "processed", "percent", "amount", "rates",
            "entry", "entries", "replaces", "errors", "started_at", "finished_at",
        ]  # fmt: skip


class RevaluationInputSerializer(serializers.Serializer):
    period = serializers.IntegerField(help_text="Id of an open accounting period.")


class RevaluationRunViewSet(mixins.CreateModelMixin, ReadOnlyModelViewSet):
    queryset = RevaluationRun.objects.select_related("period", "entry")
    serializer_class = RevaluationRunSerializer
    allowed_roles = (Role.FINANCE,)
    filterset_fields = ["status", "period"]

    @extend_schema(request=RevaluationInputSerializer, responses=RevaluationRunSerializer)
    def create(self, request, *args, **kwargs):
        data = RevaluationInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = revaluation_start(period_id=data.validated_data["period"], by=request.user)
        return Response(RevaluationRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)
