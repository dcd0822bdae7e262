"""API for legal entities: finance and administrators list and read them (with their bank accounts and the checked
URL of their logo), create and update them, and add bank accounts. The rules are psa.core.entities'."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from psa.core.api import GenericViewSet, SignedOutIs401Mixin
from psa.core.entities import bank_account_add, entities_for, entity_create, entity_update
from psa.core.files import file_url
from psa.core.models import EntityBankAccount, LegalEntity
from psa.core.roles import Role


class BankAccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = EntityBankAccount
        fields = ["id", "iban", "bic", "bank_name", "currency", "is_default"]
        read_only_fields = ["id"]


class BankAccountInputSerializer(serializers.Serializer):
    iban = serializers.CharField(max_length=42)
    bic = serializers.CharField(max_length=14, required=False, allow_blank=True, default="")
    bank_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    currency = serializers.CharField(max_length=3)
    is_default = serializers.BooleanField(required=False, default=True)


class EntitySerializer(serializers.ModelSerializer):
    bank_accounts = BankAccountSerializer(many=True, read_only=True)
    # A plain code, not a second name for the currency choice set every other serializer calls CurrencyEnum.
    functional_currency = serializers.CharField(read_only=True, help_text="ISO 4217 code of its books.")
    # Empty for a first entity seeded from settings that carry no country yet.
    country = serializers.CharField(read_only=True, help_text="ISO 3166-1 alpha-2 code; empty until set.")
    logo_url = serializers.SerializerMethodField()

    class Meta:
        model = LegalEntity
        fields = [
            "id", "code", "series_prefix", "name", "legal_name", "street", "postcode", "city", "country", "vat_id",
            "tax_number", "registration", "email", "functional_currency", "fiscal_year_start_month",
            "invoice_footer", "is_active", "logo_url", "bank_accounts",
        ]  # fmt: skip

    def get_logo_url(self, entity: LegalEntity) -> str | None:
        if not entity.logo:
            return None
        return file_url("entity-logo", entity.pk, api=True, request=self.context.get("request"))


class EntityInputSerializer(serializers.Serializer):
    """What a client sends: every field optional on update; the service checks the values and names each bad one."""

    code = serializers.CharField(max_length=10)
    series_prefix = serializers.CharField(max_length=6, required=False, allow_blank=True)
    name = serializers.CharField(max_length=200)
    legal_name = serializers.CharField(max_length=200)
    street = serializers.CharField(max_length=200, required=False, allow_blank=True)
    postcode = serializers.CharField(max_length=20, required=False, allow_blank=True)
    city = serializers.CharField(max_length=100, required=False, allow_blank=True)
    country = serializers.CharField(max_length=2)
    vat_id = serializers.CharField(max_length=20, required=False, allow_blank=True)
    tax_number = serializers.CharField(max_length=30, required=False, allow_blank=True)
    registration = serializers.CharField(max_length=200, required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    functional_currency = serializers.CharField(max_length=3)
    fiscal_year_start_month = serializers.IntegerField(required=False)
    invoice_footer = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    is_active = serializers.BooleanField(required=False)


class LegalEntityViewSet(
    SignedOutIs401Mixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    GenericViewSet,
):
    """The firm's legal entities, each with its bank accounts. POST creates one, PATCH changes one (code, series
    prefix and functional currency are refused once it has numbered documents); POST bank-accounts adds one."""

    allowed_roles = (Role.FINANCE, Role.ADMIN)
    serializer_class = EntitySerializer
    queryset = LegalEntity.objects.none()  # the schema's model; requests use get_queryset
    filterset_fields = ["is_active", "country"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return LegalEntity.objects.none()
        return entities_for(self.request.user).prefetch_related("bank_accounts").order_by("code", "pk")

    @extend_schema(request=EntityInputSerializer, responses={201: EntitySerializer})
    def create(self, request, *args, **kwargs):
        data = EntityInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entity = entity_create(by=request.user, values=data.validated_data)
        return Response(self.get_serializer(entity).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EntityInputSerializer, responses={200: EntitySerializer})
    def partial_update(self, request, *args, **kwargs):
        entity = self.get_object()
        data = EntityInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        entity = entity_update(by=request.user, entity_id=entity.pk, values=data.validated_data)
        return Response(self.get_serializer(self.get_queryset().get(pk=entity.pk)).data)

    @extend_schema(request=BankAccountInputSerializer, responses={201: BankAccountSerializer})
    @action(detail=True, methods=["post"], url_path="bank-accounts")
    def bank_accounts(self, request, pk=None):
        entity = self.get_object()
        data = BankAccountInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = bank_account_add(by=request.user, entity_id=entity.pk, **data.validated_data)
        return Response(BankAccountSerializer(account).data, status=status.HTTP_201_CREATED)
