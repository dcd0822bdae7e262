"""crm API: accounts, contacts, stages, roles, opportunities (move, lose, reopen, lines) and CSV import.

Role scoping: the pipeline is readable by sales, project managers, finance and admins; consultants and
clients get 403. Writes follow crm.permissions (owners or sales managers change deals). The `win` action is
added by projects.api (the handoff lives in projects), which registers the opportunities route.
"""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from crm import selectors, services
from crm.api import serializers as s
from crm.filtersets import AccountFilter, ContactFilter, OpportunityFilter
from crm.models import Account, Contact, DeliveryRole, OpportunityLine, Stage
from crm.permissions import ACCOUNT_EDIT_ROLES, EDIT_ROLES, VIEW_ROLES
from crm.services.credit import CREDIT_ROLES
from crm.services.imports import UPLOAD_LIMIT
from psa.core.api import GenericViewSet, ReadOnlyModelViewSet
from psa.core.roles import Role as UserRole
from psa.core.uploads import UploadLimitMixin


class AccountViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, ReadOnlyModelViewSet):
    queryset = Account.objects.order_by("name", "id")
    serializer_class = s.AccountSerializer
    filterset_class = AccountFilter
    ordering_fields = ["name", "currency", "created_at"]
    allowed_roles = VIEW_ROLES
    action_roles = {
        "create": ACCOUNT_EDIT_ROLES,
        "partial_update": ACCOUNT_EDIT_ROLES,
        "update": ACCOUNT_EDIT_ROLES,
        "credit_hold": CREDIT_ROLES,
        "credit_hold_release": CREDIT_ROLES,
    }
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(request=s.CreditHoldSerializer, responses={201: s.CreditHoldOutSerializer})
    @action(detail=True, methods=["post"], url_path="credit-hold")
    def credit_hold(self, request, pk=None):
        """Put the account on credit hold (finance): its deals cannot be won until finance releases it."""
        data = s.CreditHoldSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        hold = services.credit_hold_place(account_id=self.get_object().pk, by=request.user, **data.validated_data)
        return Response(s.CreditHoldOutSerializer(hold).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.CreditReleaseSerializer, responses=s.CreditHoldOutSerializer)
    @action(detail=True, methods=["post"], url_path="credit-hold/release")
    def credit_hold_release(self, request, pk=None):
        data = s.CreditReleaseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        hold = services.credit_hold_release(account_id=self.get_object().pk, by=request.user, **data.validated_data)
        return Response(s.CreditHoldOutSerializer(hold).data)

    def create(self, request, *args, **kwargs):
        data = s.AccountSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        account = services.account_create(by=request.user, **data.validated_data)
        return Response(s.AccountSerializer(account).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        account = self.get_object()
        data = s.AccountSerializer(account, data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        account = services.account_update(account_id=account.pk, by=request.user, **data.validated_data)
        return Response(s.AccountSerializer(account).data)


class ContactViewSet(mixins.CreateModelMixin, ReadOnlyModelViewSet):
    queryset = Contact.objects.order_by("last_name", "first_name", "id")
    serializer_class = s.ContactSerializer
    filterset_class = ContactFilter
    allowed_roles = VIEW_ROLES
    action_roles = {"create": ACCOUNT_EDIT_ROLES}

    def create(self, request, *args, **kwargs):
        data = s.ContactSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        account = fields.pop("account")
        contact = services.contact_create(by=request.user, account_id=account.pk, **fields)
        return Response(s.ContactSerializer(contact).data, status=status.HTTP_201_CREATED)


class StageViewSet(ReadOnlyModelViewSet):
    queryset = Stage.objects.order_by("order")
    serializer_class = s.StageSerializer
    allowed_roles = VIEW_ROLES
    pagination_class = None


class RoleViewSet(ReadOnlyModelViewSet):
    queryset = DeliveryRole.objects.order_by("name")
    serializer_class = s.RoleSerializer
    allowed_roles = VIEW_ROLES
    pagination_class = None


class OpportunityViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, ReadOnlyModelViewSet):
    """Deals. Filters: owner, stage, status, close_month (YYYY-MM), account (name contains), account_id,
    amount_min, amount_max, q. POST actions: move, lose, reopen, lines."""

    serializer_class = s.OpportunitySerializer
    filterset_class = OpportunityFilter
    ordering_fields = ["expected_close_date", "amount", "probability", "name", "created_at"]
    allowed_roles = VIEW_ROLES
    action_roles = {
        "create": EDIT_ROLES,
        "partial_update": EDIT_ROLES,
        "update": EDIT_ROLES,
        "move": EDIT_ROLES,
        "lose": EDIT_ROLES,
        "reopen": EDIT_ROLES,
        "lines": EDIT_ROLES,
        "credit_approve": CREDIT_ROLES,
    }
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        qs = selectors.opportunity_list(self.request.user).order_by("expected_close_date", "id")
        if self.action == "retrieve":
            qs = qs.prefetch_related(
                Prefetch("lines", queryset=OpportunityLine.objects.prefetch_related("milestones", "role_demands")),
                "history",
            )
        return qs

    def get_serializer_class(self):
        return s.OpportunityDetailSerializer if self.action == "retrieve" else s.OpportunitySerializer

    def _detail(self, opp_id: int, code=status.HTTP_200_OK) -> Response:
        opp = self.get_queryset().prefetch_related("lines__milestones", "lines__role_demands", "history").get(pk=opp_id)
        return Response(s.OpportunityDetailSerializer(opp).data, status=code)

    @extend_schema(request=s.OpportunityInputSerializer, responses=s.OpportunityDetailSerializer)
    def create(self, request, *args, **kwargs):
        data = s.OpportunityInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        lines = [dict(line) for line in fields.pop("lines", [])]
        for line in lines:
            line["milestones"] = [dict(m) for m in line.get("milestones", [])]
            line["role_demands"] = [dict(d) for d in line.get("role_demands", [])]
        opp = services.opportunity_create(by=request.user, lines=lines, **fields)
        return self._detail(opp.pk, status.HTTP_201_CREATED)

    @extend_schema(request=s.OpportunityInputSerializer, responses=s.OpportunityDetailSerializer)
    def partial_update(self, request, *args, **kwargs):
        opp = self.get_object()
        data = s.OpportunityInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        fields = {k: v for k, v in data.validated_data.items() if k not in ("lines", "stage")}
        services.opportunity_update(opportunity_id=opp.pk, by=request.user, **fields)
        return self._detail(opp.pk)

    @extend_schema(request=s.DealMoveSerializer, responses=s.OpportunityDetailSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        """Move an open deal to another open stage (owner or sales manager)."""
        opp = self.get_object()
        data = s.DealMoveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.opportunity_move(
            opportunity_id=opp.pk,
            stage_id=data.validated_data["stage"].pk,
            by=request.user,
            probability=data.validated_data.get("probability"),
        )
        return self._detail(opp.pk)

    @extend_schema(request=s.DealLoseSerializer, responses=s.OpportunityDetailSerializer)
    @action(detail=True, methods=["post"])
    def lose(self, request, pk=None):
        """Close the deal as lost; a reason is required."""
        opp = self.get_object()
        data = s.DealLoseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.opportunity_lose(opportunity_id=opp.pk, by=request.user, reason=data.validated_data["reason"])
        return self._detail(opp.pk)

    @extend_schema(request=s.CreditReleaseSerializer, responses=s.OpportunityDetailSerializer)
    @action(detail=True, methods=["post"], url_path="credit-approve")
    def credit_approve(self, request, pk=None):
        """Finance approves winning this deal although its account is on credit hold."""
        opp = self.get_object()
        data = s.CreditReleaseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.credit_deal_approve(opportunity_id=opp.pk, by=request.user, **data.validated_data)
        return self._detail(opp.pk)

    @extend_schema(request=None, responses=s.OpportunityDetailSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        opp = self.get_object()
        services.opportunity_reopen(opportunity_id=opp.pk, by=request.user)
        return self._detail(opp.pk)

    @extend_schema(request=s.DealLineInputSerializer, responses=s.OpportunityDetailSerializer)
    @action(detail=True, methods=["post"])
    def lines(self, request, pk=None):
        """Add a line (with optional milestones and role demand)."""
        opp = self.get_object()
        data = s.DealLineInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        line = dict(data.validated_data)
        line["milestones"] = [dict(m) for m in line.get("milestones", [])]
        line["role_demands"] = [dict(d) for d in line.get("role_demands", [])]
        services.opportunity_line_add(opportunity_id=opp.pk, by=request.user, **line)
        return self._detail(opp.pk, status.HTTP_201_CREATED)


class CsvImportViewSet(UploadLimitMixin, GenericViewSet):
    """Import accounts or opportunities from a CSV export (multipart `file`, `kind`); `dry_run` (default true)
    only reports per row. Re-importing a row with a known external id updates it."""

    allowed_roles = (*EDIT_ROLES, UserRole.FINANCE)
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    serializer_class = s.CsvImportSerializer
    upload_limit = UPLOAD_LIMIT

    @extend_schema(request={"multipart/form-data": s.CsvImportSerializer}, responses={200: s.ImportReportSerializer})
    def create(self, request):
        data = s.CsvImportSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = services.csv_import(
            by=request.user,
            kind=data.validated_data["kind"],
            content=data.validated_data["file"].read(),
            dry_run=data.validated_data["dry_run"],
        )
        return Response(s.ImportReportSerializer(report).data)
