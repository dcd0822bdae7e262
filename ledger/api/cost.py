"""Labour cost API (finance): `POST /api/v1/ledger/cost-runs/` {"period": id, "entity": id or null} starts the
month-end labour cost posting (202, the job runs in the background; Idempotency-Key honoured like every POST; an
unknown period or entity is a 404 naming it) and `GET` lists the runs or reads one (progress, projects and entries
posted, net amount, the projects refused and why). Writes go through ledger.services.cost_posting."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from ledger.models import CostPostingRun
from ledger.services.cost_posting import cost_posting_start
from psa.core.api import ReadOnlyModelViewSet
from psa.core.roles import Role


class CostRunSerializer(serializers.ModelSerializer):
    period = serializers.CharField(source="period.label", read_only=True)
    period_id = serializers.IntegerField(read_only=True)
    entity = serializers.CharField(source="entity.code", read_only=True, default=None, allow_null=True)
    entity_id = serializers.IntegerField(read_only=True, allow_null=True)
    status = serializers.CharField(read_only=True, help_text="running, done, done_with_errors, unchanged or failed")
    percent = serializers.IntegerField(read_only=True)
    refused = serializers.ListField(
        source="errors",
        child=serializers.DictField(),
        read_only=True,
        help_text='The project-months refused: [{"project": code, "month": "2026-01", "error": "…"}]',
    )

    class Meta:
        model = CostPostingRun
        fields = [
            "id", "period", "period_id", "entity", "entity_id", "status", "total", "processed", "percent",
            "projects", "entries", "amount", "refused", "started_at", "finished_at",
        ]  # fmt: skip


class CostRunInputSerializer(serializers.Serializer):
    period = serializers.IntegerField(help_text="Id of the accounting period (month) to post.")
    entity = serializers.IntegerField(required=False, allow_null=True, help_text="Only this legal entity's projects.")


class CostRunViewSet(mixins.CreateModelMixin, ReadOnlyModelViewSet):
    queryset = CostPostingRun.objects.select_related("period", "entity")
    serializer_class = CostRunSerializer
    allowed_roles = (Role.FINANCE,)
    filterset_fields = ["status", "period", "entity"]

    @extend_schema(request=CostRunInputSerializer, responses=CostRunSerializer)
    def create(self, request, *args, **kwargs):
        data = CostRunInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = cost_posting_start(
            period_id=data.validated_data["period"], entity_id=data.validated_data.get("entity"), by=request.user
        )
        return Response(CostRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)
