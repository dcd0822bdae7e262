"""Vendors on the API: /api/v1/vendors/ (list with filters q, country, is_subcontractor, is_active; retrieve;
create; partial update). Finance and administrators write; project managers read; everyone else gets 403.
A second vendor with the tax id or external id of another is a 409 naming it (crm.services.vendors)."""

from rest_framework import mixins, serializers, status
from rest_framework.response import Response

from crm import services
from crm.filtersets import VendorFilter
from crm.models import Vendor
from crm.services.vendors import VENDOR_EDIT_ROLES, VENDOR_FIELDS, VENDOR_VIEW_ROLES
from psa.core.api import ReadOnlyModelViewSet


class VendorSerializer(serializers.ModelSerializer):
    subcontractors = serializers.SerializerMethodField()

    class Meta:
        model = Vendor
        fields = ["id", *VENDOR_FIELDS, "subcontractors", "created_at", "updated_at"]
        read_only_fields = ["subcontractors", "created_at", "updated_at"]
        # The service refuses a duplicate tax id or external id with a 409 that names the vendor.
        extra_kwargs = {"external_id": {"validators": []}, "name": {"required": False}}

    def get_subcontractors(self, vendor: Vendor) -> list[int]:
        return [c.pk for c in vendor.subcontractors.all()]


class VendorViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, ReadOnlyModelViewSet):
    queryset = Vendor.objects.prefetch_related("subcontractors").order_by("name", "id")
    serializer_class = VendorSerializer
    filterset_class = VendorFilter
    ordering_fields = ["name", "country", "created_at"]
    allowed_roles = VENDOR_VIEW_ROLES
    action_roles = {"create": VENDOR_EDIT_ROLES, "partial_update": VENDOR_EDIT_ROLES, "update": VENDOR_EDIT_ROLES}
    http_method_names = ["get", "post", "patch", "head", "options"]

    def create(self, request, *args, **kwargs):
        data = VendorSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        vendor = services.vendor_create(by=request.user, **data.validated_data)
        return Response(VendorSerializer(vendor).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        vendor = self.get_object()
        data = VendorSerializer(vendor, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        vendor = services.vendor_update(vendor_id=vendor.pk, by=request.user, **data.validated_data)
        return Response(VendorSerializer(vendor).data)
