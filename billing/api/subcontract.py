"""The subcontractor hours match as an API (finance): GET /api/v1/billing/subcontract-match/?from=YYYY-MM&to=YYYY-MM
&vendor=<id>, one row per vendor, consultant and month (billing.selectors.subcontract_match), paginated."""

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers

from billing.models import VendorBillLine
from billing.selectors.subcontract_match import match_months, match_vendor, subcontract_match
from psa.core.api import DateField, GenericViewSet
from psa.core.roles import Role


class SubcontractMatchSerializer(serializers.Serializer):
    vendor_id = serializers.IntegerField()
    vendor = serializers.CharField()
    consultant_id = serializers.IntegerField()
    consultant = serializers.CharField()
    month = DateField(help_text="The month's first day.")
    approved_hours = serializers.DecimalField(max_digits=12, decimal_places=2)
    billed_hours = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="Pro-rated by calendar days over the line's months."
    )
    hours_difference = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Billed - approved.")
    accrued = serializers.DecimalField(
        max_digits=18, decimal_places=2, help_text="Approved hours at the snapshot cost rates."
    )
    accrued_currency = serializers.CharField()
    billed = serializers.DecimalField(max_digits=18, decimal_places=2, help_text="The bills' net, pro-rated.")
    billed_currency = serializers.CharField()
    amount_difference = serializers.DecimalField(
        max_digits=18, decimal_places=2, allow_null=True, help_text="Billed - accrued; null when the currencies differ."
    )
    bill_ids = serializers.ListField(child=serializers.IntegerField())


class SubcontractMatchViewSet(GenericViewSet):
    """Approved hours of each vendor's subcontractors against the hours its posted bills charge, per vendor,
    consultant and month, with the cost accrued and the net billed (finance and administrators)."""

    allowed_roles = (Role.FINANCE, Role.ADMIN)
    serializer_class = SubcontractMatchSerializer
    queryset = VendorBillLine.objects.none()  # for the schema; the rows are computed by a selector

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.STR, description="First month, YYYY-MM. Default: 3 months ago."),
            OpenApiParameter("to", OpenApiTypes.STR, description="Last month, YYYY-MM. Default: last month."),
            OpenApiParameter("vendor", OpenApiTypes.INT, description="Only this vendor."),
        ],
        responses=SubcontractMatchSerializer(many=True),
    )
    def list(self, request):
        params = request.query_params
        start, end = match_months(params.get("from"), params.get("to"), today=timezone.localdate())
        rows = subcontract_match(start=start, end=end, vendor_id=match_vendor(params.get("vendor")))
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(SubcontractMatchSerializer(page, many=True).data)
