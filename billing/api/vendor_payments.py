"""API for paying vendors: /api/v1/vendor-payments/ (list, retrieve, create = record a payment) and
/api/v1/payment-runs/ (list, retrieve, create = propose; export, book, cancel; `file` downloads the pain.001).
Finance and administrators only (403 for other roles). A refusal is a 400 naming the field; a run in the wrong
state for an action is a 409. POSTs honour `Idempotency-Key` (psa.core.api)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from billing.models import PaymentRun, VendorPayment, VendorPaymentAllocation
from billing.selectors.vendor_payments import payment_run_payments, payment_runs_for, vendor_payments_for
from billing.services.payment_runs import (
    payment_run_book,
    payment_run_cancel,
    payment_run_export,
    payment_run_file,
    payment_run_propose,
)
from billing.services.vendor_payments import vendor_payment_record
from billing.vendor_payment_forms import PaymentRunFilter, VendorPaymentFilter
from crm.models import Vendor
from psa.core.api import DateField, GenericViewSet
from psa.core.entities import entity_default
from psa.core.exceptions import NotFoundError, ValidationFailed
from psa.core.files import file_url, stored_file_response
from psa.core.models import EntityBankAccount, LegalEntity
from psa.core.roles import Role

FINANCE = (Role.FINANCE, Role.ADMIN)


class VendorAllocationSerializer(serializers.ModelSerializer):
    bill_number = serializers.CharField(source="bill.number", read_only=True)

    class Meta:
        model = VendorPaymentAllocation
        fields = ["bill", "bill_number", "amount"]


class VendorPaymentSerializer(serializers.ModelSerializer):
    allocations = VendorAllocationSerializer(many=True, read_only=True)
    journal_entry_number = serializers.CharField(source="journal_entry.number", read_only=True, default=None)

    class Meta:
        model = VendorPayment
        fields = [
            "id",
            "vendor",
            "entity",
            "run",
            "paid_on",
            "amount",
            "currency",
            "reference",
            "end_to_end_id",
            "fx_rate",
            "fx_rate_date",
            "functional_amount",
            "journal_entry",
            "journal_entry_number",
            "allocations",
            "created_at",
        ]


class BillAmountSerializer(serializers.Serializer):
    bill_id = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)


class VendorPaymentCreateSerializer(serializers.Serializer):
    vendor = serializers.IntegerField()
    entity = serializers.IntegerField(required=False, help_text="The paying legal entity; the default one if left out.")
    paid_on = DateField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    currency = serializers.CharField(max_length=3, required=False, help_text="ISO 4217; the vendor's when left out.")
    reference = serializers.CharField(max_length=140, required=False, allow_blank=True, default="")
    allocations = BillAmountSerializer(
        many=True, required=False, help_text="Bills to pay and how much; left out: the oldest due bills first."
    )


class PaymentRunPaymentSerializer(VendorPaymentSerializer):
    vendor_name = serializers.CharField(source="vendor.name", read_only=True)
    iban = serializers.CharField(source="vendor.iban", read_only=True)

    class Meta(VendorPaymentSerializer.Meta):
        fields = [*VendorPaymentSerializer.Meta.fields, "vendor_name", "iban"]


class PaymentRunSerializer(serializers.ModelSerializer):
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = PaymentRun
        fields = [
            "id",
            "entity",
            "bank_account",
            "currency",
            "execution_date",
            "status",
            "message_id",
            "total",
            "file_url",
            "created_at",
            "exported_at",
            "booked_at",
        ]

    def get_file_url(self, run: PaymentRun) -> str | None:
        if not run.file:
            return None
        return file_url("payment-run-file", run.pk, api=True, request=self.context.get("request"))


class PaymentRunDetailSerializer(PaymentRunSerializer):
    payments = serializers.SerializerMethodField()

    class Meta(PaymentRunSerializer.Meta):
        fields = [*PaymentRunSerializer.Meta.fields, "payments"]

    @extend_schema(responses=PaymentRunPaymentSerializer(many=True))
    def get_payments(self, run: PaymentRun) -> list:
        return list(PaymentRunPaymentSerializer(payment_run_payments(run), many=True).data)


class PaymentRunCreateSerializer(serializers.Serializer):
    bank_account = serializers.IntegerField(help_text="The entity's bank account to pay from (its currency).")
    execution_date = DateField()
    due_by = DateField(help_text="Bills due on or before this day.")
    vendor_ids = serializers.ListField(child=serializers.IntegerField(), required=False)


class BookSerializer(serializers.Serializer):
    on = DateField(required=False, help_text="The day the bank executed the payments; the execution date if left out.")


def _get[M](model: type[M], pk: int, field: str, label: str) -> M:
    obj = model._default_manager.filter(pk=pk).first()  # type: ignore[attr-defined]
    if obj is None:
        raise ValidationFailed(f"No {label} with id {pk}.", fields={field: [f"No {label} with id {pk}."]})
    return obj


class VendorPaymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    """Payments made to vendors (posted). Create records one and posts it."""

    allowed_roles = FINANCE
    serializer_class = VendorPaymentSerializer
    filterset_class = VendorPaymentFilter

    def get_queryset(self):
        return vendor_payments_for(self.request.user).prefetch_related("allocations__bill").order_by("-paid_on", "-pk")

    @extend_schema(request=VendorPaymentCreateSerializer, responses={201: VendorPaymentSerializer})
    def create(self, request):
        data = VendorPaymentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        entity = _get(LegalEntity, d["entity"], "entity", "legal entity") if "entity" in d else entity_default()
        payment = vendor_payment_record(
            vendor=_get(Vendor, d["vendor"], "vendor", "vendor"),
            entity=entity,
            paid_on=d["paid_on"],
            amount=d["amount"],
            currency=d.get("currency"),
            allocations=[dict(a) for a in d.get("allocations", [])] or None,
            reference=d["reference"],
            by=request.user,
        )
        return Response(VendorPaymentSerializer(self.get_queryset().get(pk=payment.pk)).data, status=201)


class PaymentRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    """Payment runs. Create proposes one; then `export` (the pain.001 file), `book` (the bank paid) or `cancel`.
    `file` downloads the exported file."""

    allowed_roles = FINANCE
    filterset_class = PaymentRunFilter

    def get_queryset(self):
        return payment_runs_for(self.request.user).order_by("-execution_date", "-pk")

    def get_serializer_class(self):
        return PaymentRunDetailSerializer if self.action != "list" else PaymentRunSerializer

    def _detail(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        run = self.get_queryset().get(pk=pk)
        return Response(PaymentRunDetailSerializer(run, context={"request": self.request}).data, status=code)

    @extend_schema(request=PaymentRunCreateSerializer, responses={201: PaymentRunDetailSerializer})
    def create(self, request):
        data = PaymentRunCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        d = data.validated_data
        account = _get(EntityBankAccount, d["bank_account"], "bank_account", "bank account")
        run = payment_run_propose(
            entity=LegalEntity.objects.get(pk=account.entity_id),
            bank_account=account,
            execution_date=d["execution_date"],
            due_by=d["due_by"],
            vendor_ids=d.get("vendor_ids"),
            by=request.user,
        )
        return self._detail(run.pk, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=PaymentRunDetailSerializer)
    @action(detail=True, methods=["post"])
    def export(self, request, pk=None):
        run = payment_run_export(run_id=self.get_object().pk, by=request.user)
        return self._detail(run.pk)

    @extend_schema(request=BookSerializer, responses=PaymentRunDetailSerializer)
    @action(detail=True, methods=["post"])
    def book(self, request, pk=None):
        data = BookSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = payment_run_book(run_id=self.get_object().pk, by=request.user, on=data.validated_data.get("on"))
        return self._detail(run.pk)

    @extend_schema(request=None, responses=PaymentRunDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        run = payment_run_cancel(run_id=self.get_object().pk, by=request.user)
        return self._detail(run.pk)

    @extend_schema(responses={(200, "application/xml"): OpenApiResponse(description="The pain.001.001.09 file.")})
    @action(detail=True, methods=["get"])
    def file(self, request, pk=None):
        run = self.get_object()
        if not run.file:
            raise NotFoundError("The run has no file yet: export it first.")
        return stored_file_response(payment_run_file(run))
