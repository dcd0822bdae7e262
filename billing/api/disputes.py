"""Disputes API: list and read (finance: all; a client: its own account's), open (finance, or a client on its own
invoice), and finance's resolutions (assign, reject, credit, write-off). Writes call one service each."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from billing.choices import DisputeReason
from billing.filtersets import DisputeFilter
from billing.models import Dispute, DisputeLine
from billing.selectors.credit import disputes_for
from billing.services.disputes import (
    dispute_assign,
    dispute_open,
    dispute_reject,
    dispute_resolve_credit,
    dispute_resolve_write_off,
)
from psa.core.api import GenericViewSet
from psa.core.roles import Role

FINANCE = (Role.FINANCE, Role.ADMIN)


class DisputeLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = DisputeLine
        fields = ["invoice_line", "amount"]


class DisputeSerializer(serializers.ModelSerializer):
    invoice_number = serializers.CharField(source="invoice.number", read_only=True)
    credit_note_number = serializers.CharField(source="credit_note.number", read_only=True, default=None)
    lines = DisputeLineSerializer(many=True, read_only=True)

    class Meta:
        model = Dispute
        fields = [
            "id", "invoice", "invoice_number", "account", "status", "reason", "description", "amount", "currency",
            "channel", "owner", "opened_at", "lines", "credited", "credit_note", "credit_note_number",
            "write_off", "resolution_note", "resolved_at",
        ]  # fmt: skip
        read_only_fields = fields


class DisputeOpenLineSerializer(serializers.Serializer):
    invoice_line = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, required=False, allow_null=True)


class DisputeOpenSerializer(serializers.Serializer):
    invoice = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=DisputeReason.choices)
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, required=False, allow_null=True)
    lines = DisputeOpenLineSerializer(many=True, required=False)
    owner = serializers.IntegerField(required=False, allow_null=True)


class AssignSerializer(serializers.Serializer):
    owner = serializers.IntegerField()


class DisputeRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class DisputeCreditSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, required=False, allow_null=True)
    line_ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class WriteOffSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class DisputeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    """Invoice disputes. Finance sees and resolves all; a client user sees and opens its own account's."""

    allowed_roles = (*FINANCE, Role.CLIENT)
    action_roles = {"assign": FINANCE, "reject": FINANCE, "credit": FINANCE, "write_off": FINANCE}
    serializer_class = DisputeSerializer
    filterset_class = DisputeFilter

    def get_queryset(self):
        return disputes_for(self.request.user).prefetch_related("lines").order_by("-opened_at", "-pk")

    @extend_schema(request=DisputeOpenSerializer, responses={201: DisputeSerializer})
    def create(self, request):
        data = DisputeOpenSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        dispute = dispute_open(
            invoice_id=d["invoice"],
            by=request.user,
            reason=d["reason"],
            description=d["description"],
            amount=d.get("amount"),
            lines={ln["invoice_line"]: ln.get("amount") for ln in d.get("lines", [])} or None,
            owner_id=d.get("owner"),
        )
        return Response(DisputeSerializer(dispute).data, status=status.HTTP_201_CREATED)

    def _done(self, dispute_id: int) -> Response:
        return Response(DisputeSerializer(self.get_queryset().get(pk=dispute_id)).data)

    @extend_schema(request=AssignSerializer, responses=DisputeSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        data = AssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        owner_id = data.validated_data["owner"]
        dispute = dispute_assign(dispute_id=self.get_object().pk, by=request.user, owner_id=owner_id)
        return self._done(dispute.pk)

    @extend_schema(request=DisputeRejectSerializer, responses=DisputeSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = DisputeRejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dispute = dispute_reject(dispute_id=self.get_object().pk, by=request.user, **data.validated_data)
        return self._done(dispute.pk)

    @extend_schema(request=DisputeCreditSerializer, responses=DisputeSerializer)
    @action(detail=True, methods=["post"])
    def credit(self, request, pk=None):
        data = DisputeCreditSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        dispute = dispute_resolve_credit(
            dispute_id=self.get_object().pk,
            by=request.user,
            amount=d.get("amount"),
            line_ids=d.get("line_ids") or None,
            note=d["note"],
        )
        return self._done(dispute.pk)

    @extend_schema(request=WriteOffSerializer, responses=DisputeSerializer)
    @action(detail=True, methods=["post"], url_path="write-off")
    def write_off(self, request, pk=None):
        data = WriteOffSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        dispute = dispute_resolve_write_off(dispute_id=self.get_object().pk, by=request.user, **data.validated_data)
        return self._done(dispute.pk)
