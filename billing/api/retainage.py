"""Retainage API (finance): a contract's retainage held, released and pending, and its release on acceptance;
statements of account (a client: its own; finance: any account)."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from billing.api import serializers as s
from billing.models import AccountStatement
from billing.selectors import statements_for
from billing.selectors.retainage import contract_retainage_summary
from billing.services.retainage import retainage_release_create
from billing.services.statements import statement_create
from crm.models import Account
from crm.selectors import account_for_client_user
from projects.models import Contract
from psa.core.api import GenericViewSet
from psa.core.exceptions import NotFoundError
from psa.core.files import file_url
from psa.core.roles import Role, has_role

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
    serializer_class = ReleaseSerializer  # what OPTIONS describes for the release action

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


class StatementSerializer(serializers.ModelSerializer):
    pdf_url = serializers.SerializerMethodField()

    class Meta:
        model = AccountStatement
        fields = ["id", "account", "as_of", "created_at", "pdf_sha256", "pdf_url"]

    def get_pdf_url(self, statement) -> str:
        return file_url("account-statement", statement.pk, api=True, request=self.context.get("request"))


class StatementRequestSerializer(serializers.Serializer):
    account = serializers.IntegerField(required=False, help_text="Finance only: the account (a client: its own).")
    as_of = serializers.DateField(required=False)


class StatementViewSet(mixins.ListModelMixin, GenericViewSet):
    """Statements of account. `GET`: those the caller may read (a client: its own account's); `POST`: render one
    as of today (or `as_of`) — a client for its own account only, finance for any `account`."""

    allowed_roles = (*FINANCE, Role.CLIENT)
    serializer_class = StatementSerializer

    def get_queryset(self):
        return statements_for(self.request.user).order_by("-created_at", "-pk")

    @extend_schema(request=StatementRequestSerializer, responses={201: StatementSerializer})
    def create(self, request):
        data = StatementRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if has_role(request.user, *FINANCE):
            account = Account.objects.filter(pk=data.validated_data.get("account") or 0).first()
        else:
            account = account_for_client_user(request.user)
        if account is None:
            raise NotFoundError("No such account.")
        statement = statement_create(
            account=account, as_of=data.validated_data.get("as_of") or timezone.localdate(), by=request.user
        )
        return Response(
            StatementSerializer(statement, context={"request": request}).data, status=status.HTTP_201_CREATED
        )
