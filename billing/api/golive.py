"""The go-live API under /api/v1/golive/: list and start go-lives, import a file (dry run by default), read the
reconciliation, complete and roll back. The same services as the pages and the management command."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from billing.models import GoLive
from billing.selectors.golive import golive_reconciliation
from billing.services.golive import IMPORTERS, golive_complete, golive_create, golive_import, golive_rollback
from billing.services.golive.base import UPLOAD_LIMIT, report_json
from psa.core.api import DateField, GenericViewSet
from psa.core.exceptions import NotFoundError
from psa.core.models import LegalEntity
from psa.core.roles import Role
from psa.core.uploads import UploadLimitMixin


class GoLiveImportRecordSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    file_name = serializers.CharField()
    file_digest = serializers.CharField()
    row_count = serializers.IntegerField()
    applied_at = serializers.DateTimeField()
    rolled_back_at = serializers.DateTimeField(allow_null=True)


class GoLiveSerializer(serializers.ModelSerializer):
    entity_code = serializers.CharField(source="entity.code", read_only=True)
    imports = GoLiveImportRecordSerializer(many=True, read_only=True)

    class Meta:
        model = GoLive
        fields = ["id", "entity", "entity_code", "cutover_date", "status", "notes", "created_at", "completed_at",
                  "rolled_back_at", "imports"]  # fmt: skip
        read_only_fields = fields


class GoLiveCreateSerializer(serializers.Serializer):
    entity = serializers.IntegerField(help_text="The legal entity's id.")
    cutover_date = DateField(help_text="The first day in PSA (the first of a month).")
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class GoLiveImportSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(IMPORTERS))
    file = serializers.FileField(help_text="CSV (UTF-8) or XLSX; the columns of the kind (see the workspace page).")
    dry_run = serializers.BooleanField(default=True, help_text="true (default): check every row and write nothing.")


class CheckSerializer(serializers.Serializer):
    group = serializers.CharField()
    name = serializers.CharField()
    expected = serializers.DecimalField(max_digits=18, decimal_places=2)
    actual = serializers.DecimalField(max_digits=18, decimal_places=2)
    difference = serializers.DecimalField(max_digits=18, decimal_places=2)
    ok = serializers.BooleanField()
    rows = serializers.ListField(child=serializers.CharField())


class GoLiveViewSet(UploadLimitMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    """Go-lives: `POST` starts one (entity, cutover_date); `import` checks a file (dry_run true, the default) or
    applies it all or nothing; `reconciliation` lists every check; `complete` and `rollback` finish it."""

    allowed_roles = (Role.FINANCE, Role.ADMIN)
    serializer_class = GoLiveSerializer
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    upload_limit = UPLOAD_LIMIT
    queryset = GoLive.objects.select_related("entity").prefetch_related("imports").order_by("-created_at", "-id")

    @extend_schema(request=GoLiveCreateSerializer, responses={201: GoLiveSerializer})
    def create(self, request):
        data = GoLiveCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entity = LegalEntity.objects.filter(pk=data.validated_data["entity"], is_active=True).first()
        if entity is None:
            raise NotFoundError("No such legal entity.", fields={"entity": ["No active legal entity with that id."]})
        golive = golive_create(
            entity=entity,
            cutover_date=data.validated_data["cutover_date"],
            user=request.user,
            notes=data.validated_data["notes"],
        )
        return Response(GoLiveSerializer(self.get_queryset().get(pk=golive.pk)).data, status=201)

    @extend_schema(request={"multipart/form-data": GoLiveImportSerializer}, responses={200: dict})
    @action(detail=True, methods=["post"], url_path="import")
    def import_file(self, request, pk=None):
        data = GoLiveImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        report = golive_import(
            golive=self.get_object(),
            kind=data.validated_data["kind"],
            file=upload.read(),
            file_name=upload.name,
            user=request.user,
            dry_run=data.validated_data["dry_run"],
        )
        return Response(report_json(report))

    @extend_schema(responses={200: CheckSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def reconciliation(self, request, pk=None):
        checks = golive_reconciliation(self.get_object())
        rows = [{**c.__dict__, "difference": c.difference, "ok": c.ok} for c in checks]
        return Response(
            {"green": bool(checks) and all(c.ok for c in checks), "checks": CheckSerializer(rows, many=True).data}
        )

    @extend_schema(request=None, responses={200: GoLiveSerializer})
    @action(detail=True, methods=["post"])
    def complete(self, request, pk=None):
        golive = golive_complete(golive=self.get_object(), user=request.user)
        return Response(GoLiveSerializer(self.get_queryset().get(pk=golive.pk)).data)

    @extend_schema(request=None, responses={200: GoLiveSerializer})
    @action(detail=True, methods=["post"])
    def rollback(self, request, pk=None):
        golive = self.get_object()
        golive_rollback(golive=golive, user=request.user)
        return Response(GoLiveSerializer(self.get_queryset().get(pk=golive.pk)).data)
