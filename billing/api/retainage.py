"""Retainage API (finance): a contract's retainage held, released and pending, and its release on acceptance."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from billing.api import serializers as s
from billing.selectors.retainage import contract_retainage_summary
from billing.services.retainage import retainage_release_create
from projects.models import Contract
from psa.core.api import GenericViewSet
from psa.core.exceptions import NotFoundError
from psa.core.roles import Role

FINANCE = (Role.FINANCE, Role.ADMIN)


class RetainageSummarySerializer(serializers.Serializer):
    contract_id = serializers.IntegerField()
    total = serializers.DecimalField(max_digits=18, decimal_places=2)
    credited = serializers.DecimalField(max_digits=18, decimal_places=2)
    released = serializers.DecimalField(max_digits=18, decimal_places=2)
    pending = serializers.DecimalField(max_digits=18, decimal_places=2)
    held = serializers.DecimalField(max_digits=18, decimal_places=2)
    lines_with_retainage = serializers.IntegerField()


class ReleaseSerializer(serializers.Serializer):
    accepted_on = serializers.DateField(help_text="The date the client accepted the project.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class RetainageViewSet(GenericViewSet):
    """`GET /api/v1/billing/retainage/<contract id>/`: the contract's retainage; `POST .../release/` with
    `accepted_on`: a draft release invoice for all that is still held (409 `nothing_to_release` when none)."""

    allowed_roles = FINANCE
    queryset = Contract.objects.all()

    def _contract(self, pk) -> Contract:
        contract = Contract.objects.filter(pk=pk).only("pk").first()
        if contract is None:
            raise NotFoundError(f"No contract with id {pk}.")
        return contract

    @extend_schema(responses=RetainageSummarySerializer)
    def retrieve(self, request, pk=None):
        contract = self._contract(pk)
        data = {"contract_id": contract.pk, **contract_retainage_summary(contract_id=contract.pk)}
        return Response(RetainageSummarySerializer(data).data)

    @extend_schema(request=ReleaseSerializer, responses={201: s.InvoiceDetailSerializer})
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        data = ReleaseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        invoice = retainage_release_create(contract_id=self._contract(pk).pk, by=request.user, **data.validated_data)
        return Response(s.InvoiceDetailSerializer(invoice).data, status=status.HTTP_201_CREATED)
