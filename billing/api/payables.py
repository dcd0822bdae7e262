"""Vendor bills on the API: /api/v1/vendor-bills/ (list with filters, retrieve, create with its lines) and the
actions submit, approve, reject and pdf (upload the vendor's PDF); /api/v1/ap-aging/ (open bills by vendor and
bucket, with the AP control per entity).

Roles: finance and administrators do everything; a project manager lists and reads the bills on their projects
and approves or rejects them; anyone else gets 403. POSTs honour Idempotency-Key. Bad input is a 400 naming the
field (lines as `lines.<i>.<field>`), a duplicate bill a 409 naming the bill already entered.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from billing.choices import PurchaseTax, VendorBillLineKind
from billing.filtersets import VendorBillFilter
from billing.models import VendorBill, VendorBillApproval, VendorBillLine
from billing.selectors.payables import ap_aging, ap_control, bills_for
from billing.services.payables import (
    PDF_LIMIT,
    bill_approve_as,
    bill_attach_pdf,
    bill_create,
    bill_reject,
    bill_submit,
)
from psa.core.api import DateField, GenericViewSet
from psa.core.dates import parse_date
from psa.core.entities import entity_default_id
from psa.core.files import file_url
from psa.core.roles import Role
from psa.core.uploads import UploadLimitMixin

FINANCE = (Role.FINANCE, Role.ADMIN)
READERS = (Role.FINANCE, Role.ADMIN, Role.PROJECT_MANAGER)


class VendorBillLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = VendorBillLine
        fields = [
            "id",
            "kind",
            "description",
            "project",
            "contract_line",
            "consultant",
            "ledger_account",
            "hours",
            "period_start",
            "period_end",
            "net_amount",
            "tax_rate",
            "tax_amount",
            "rebill_amount",
        ]


class VendorBillApprovalSerializer(serializers.ModelSerializer):
    class Meta:
        model = VendorBillApproval
        fields = ["project", "approved_by", "approved_at", "functional_amount"]


class VendorBillSerializer(serializers.ModelSerializer):
    vendor_name = serializers.CharField(source="vendor.name", read_only=True)
    open_amount = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    lines = VendorBillLineSerializer(many=True, read_only=True)
    approvals = VendorBillApprovalSerializer(many=True, read_only=True)
    pdf_url = serializers.SerializerMethodField()

    class Meta:
        model = VendorBill
        fields = [
            "id",
            "vendor",
            "vendor_name",
            "entity",
            "number",
            "po_number",
            "bill_date",
            "due_date",
            "currency",
            "purchase_tax",
            "purchase_tax_reason",
            "net_total",
            "tax_total",
            "reverse_charge_tax",
            "gross_total",
            "amount_paid",
            "open_amount",
            "fx_rate",
            "fx_rate_date",
            "functional_gross",
            "status",
            "journal_entry",
            "submitted_by",
            "submitted_at",
            "pm_approved_by",
            "pm_approved_at",
            "approved_by",
            "approved_at",
            "rejected_reason",
            "rejected_by",
            "rejected_at",
            "notes",
            "pdf_url",
            "lines",
            "approvals",
        ]

    def get_pdf_url(self, bill: VendorBill) -> str | None:
        return file_url("vendor-bill-pdf", bill.pk, api=True, request=self.context.get("request")) if bill.pdf else None


class LineInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=VendorBillLineKind.choices)
    description = serializers.CharField(max_length=300)
    project_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    contract_line_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    consultant_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    ledger_account_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    hours = serializers.DecimalField(max_digits=8, decimal_places=2, required=False, allow_null=True)
    period_start = DateField(required=False, allow_null=True)
    period_end = DateField(required=False, allow_null=True)
    net_amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=2, required=False, allow_null=True)
    tax_amount = serializers.DecimalField(max_digits=18, decimal_places=2, required=False, allow_null=True)


class BillInputSerializer(serializers.Serializer):
    vendor_id = serializers.IntegerField(min_value=1)
    entity_id = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    number = serializers.CharField(max_length=100)
    po_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    bill_date = DateField()
    due_date = DateField(required=False, allow_null=True)
    currency = serializers.CharField(max_length=3, required=False, allow_blank=True)
    purchase_tax = serializers.ChoiceField(choices=PurchaseTax.choices, required=False, allow_null=True)
    purchase_tax_reason = serializers.CharField(max_length=300, required=False, allow_blank=True, allow_null=True)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    lines = LineInputSerializer(many=True, allow_empty=False, max_length=500)  # type: ignore[call-arg]  # ListSerializer takes it


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class PdfSerializer(serializers.Serializer):
    pdf = serializers.FileField()


class VendorBillViewSet(UploadLimitMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    """Vendor bills (module docstring). Filters: q, status, vendor, entity, project, date_from, date_to."""

    serializer_class = VendorBillSerializer
    filterset_class = VendorBillFilter
    allowed_roles = READERS
    action_roles = {"create": FINANCE, "submit": FINANCE, "pdf": FINANCE, "approve": READERS, "reject": READERS}
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    upload_limit = PDF_LIMIT
    queryset = VendorBill.objects.none()  # the schema's model; requests use get_queryset

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return (
            bills_for(self.request.user)
            .select_related("vendor")
            .prefetch_related("lines", "approvals")
            .order_by("-bill_date", "-id")
        )

    def _answer(self, bill: VendorBill, code: int = status.HTTP_200_OK) -> Response:
        bill = self.get_queryset().get(pk=bill.pk) if code != status.HTTP_201_CREATED else bill
        return Response(VendorBillSerializer(bill, context={"request": self.request}).data, status=code)

    @extend_schema(request=BillInputSerializer, responses={201: VendorBillSerializer})
    def create(self, request):
        data = BillInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if v is not None and v != ""}
        fields["lines"] = [{k: v for k, v in ln.items() if v is not None} for ln in fields["lines"]]
        bill = bill_create(by=request.user, **fields)
        return self._answer(bill, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=VendorBillSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._answer(bill_submit(bill_id=self.get_object().pk, by=request.user))

    @extend_schema(request=None, responses=VendorBillSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._answer(bill_approve_as(bill_id=self.get_object().pk, by=request.user))

    @extend_schema(request=RejectSerializer, responses=VendorBillSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = RejectSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        bill = bill_reject(bill_id=self.get_object().pk, by=request.user, reason=data.validated_data["reason"])
        return self._answer(bill)

    @extend_schema(request={"multipart/form-data": PdfSerializer}, responses=VendorBillSerializer)
    @action(detail=True, methods=["post"])
    def pdf(self, request, pk=None):
        data = PdfSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._answer(
            bill_attach_pdf(bill_id=self.get_object().pk, by=request.user, pdf=data.validated_data["pdf"])
        )


class ApAgingRowSerializer(serializers.Serializer):
    vendor = serializers.IntegerField()
    vendor_name = serializers.CharField()
    currency = serializers.CharField()
    bills = serializers.IntegerField()
    current = serializers.DecimalField(max_digits=18, decimal_places=2)
    d1_30 = serializers.DecimalField(max_digits=18, decimal_places=2)
    d31_60 = serializers.DecimalField(max_digits=18, decimal_places=2)
    d61_90 = serializers.DecimalField(max_digits=18, decimal_places=2)
    d90 = serializers.DecimalField(max_digits=18, decimal_places=2)
    total = serializers.DecimalField(max_digits=18, decimal_places=2)


class ApControlSerializer(serializers.Serializer):
    ledger = serializers.DecimalField(max_digits=18, decimal_places=2, help_text="Payable account (credit balance).")
    open_bills = serializers.DecimalField(max_digits=18, decimal_places=2, help_text="Open bills, functional.")
    difference = serializers.DecimalField(max_digits=18, decimal_places=2)
    reconciled = serializers.BooleanField()


@extend_schema_serializer(many=False)  # `list` answers one aging report, not a list of them
class ApAgingSerializer(serializers.Serializer):
    as_of = DateField()
    entity = serializers.IntegerField()
    rows = ApAgingRowSerializer(many=True)
    control = ApControlSerializer()


class ApAgingViewSet(GenericViewSet):
    """Open vendor bills by vendor, entity and currency in buckets of days past due (`as_of`, default today;
    `entity`), with the AP control of the entity (the payable account against the open bills)."""

    allowed_roles = FINANCE
    pagination_class = None
    serializer_class = ApAgingSerializer
    queryset = VendorBill.objects.none()

    @extend_schema(
        parameters=[
            OpenApiParameter("as_of", OpenApiTypes.DATE, description="Default: today."),
            OpenApiParameter("entity", OpenApiTypes.INT, description="The legal entity. Default: the default one."),
        ],
        responses=ApAgingSerializer,
    )
    def list(self, request):
        raw_date = request.query_params.get("as_of")
        as_of = parse_date(raw_date, field="as_of") if raw_date else None
        raw = request.query_params.get("entity")
        if raw and not raw.isdigit():
            raise serializers.ValidationError({"entity": ["A whole number is required."]})
        entity_id = int(raw) if raw else entity_default_id()
        aging = ap_aging(as_of=as_of, entity_id=entity_id)
        control = ap_control(entity_id=entity_id, at=aging.as_of)
        buckets = ("current", "d1_30", "d31_60", "d61_90", "d90")
        return Response(
            {
                "as_of": aging.as_of,
                "entity": entity_id,
                "rows": [
                    {"vendor": r.vendor_id, "vendor_name": r.vendor, "currency": r.currency, "bills": r.bills}
                    | {b: str(getattr(r, b)) for b in buckets}
                    | {"total": str(r.total)}
                    for r in aging.rows
                ],
                "control": {
                    "ledger": str(control.ledger),
                    "open_bills": str(control.open_bills),
                    "difference": str(control.difference),
                    "reconciled": control.reconciled,
                },
            }
        )
