"""projects API: the `win` action on opportunities (the handoff), projects, contracts, change orders (with
submit/approve/reject) and rate cards (with dated lines). Scoped by role: projects and contracts for PMs,
finance, sales and admins; rate cards for the roles that may see rates."""

from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.api.views import OpportunityViewSet as CrmOpportunityViewSet
from crm.permissions import EDIT_ROLES as PIPELINE_EDIT_ROLES
from projects import services
from projects.api import serializers as s
from projects.filtersets import ChangeOrderFilter, ContractFilter, ProjectFilter, RateCardFilter
from projects.models import ChangeOrder, Contract, Project, RateCard, RateCardLine
from projects.permissions import RATE_VIEW_ROLES, VIEW_ROLES
from projects.selectors.budget import budget_vs_actual
from projects.services.engagement import CO_DECIDE_ROLES, CO_REQUEST_ROLES
from projects.services.rates import RATE_CARD_EDIT_ROLES
from psa.core.api import ReadOnlyModelViewSet
from psa.core.roles import COST_ROLES, has_role


class OpportunityViewSet(CrmOpportunityViewSet):
    """Deals (see crm.api.views.OpportunityViewSet) plus `win`, the closed-won handoff."""

    action_roles = {**CrmOpportunityViewSet.action_roles, "win": PIPELINE_EDIT_ROLES}

    @extend_schema(request=None, responses={200: s.DealWinResultSerializer, 201: s.DealWinResultSerializer})
    @action(detail=True, methods=["post"])
    def win(self, request, pk=None):
        """Win the deal: 201 with the new contract and project; 200 with the same ones when already won; 400
        listing every missing field (nothing is created); 403 for someone else's deal; 409 for a lost one."""
        opp = self.get_object()
        result = services.opportunity_win(opportunity_id=opp.pk, by=request.user)
        project = Project.objects.prefetch_related("tasks", "milestones", "resource_requests").get(pk=result.project.pk)
        contract = Contract.objects.prefetch_related("lines").get(pk=result.contract.pk)
        body = {
            "created": result.created,
            "contract": s.ContractSerializer(contract).data,
            "project": s.ProjectDetailSerializer(project).data,
        }
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class ProjectViewSet(ReadOnlyModelViewSet):
    """Projects. Filters: q, status, account (name contains), account_id, project_manager."""

    filterset_class = ProjectFilter
    ordering_fields = ["code", "start_date", "end_date", "budget_amount"]
    allowed_roles = VIEW_ROLES

    def get_queryset(self):
        qs = Project.objects.select_related("account").order_by("code")
        if self.action == "retrieve":
            qs = qs.prefetch_related("tasks", "milestones", "resource_requests")
        return qs

    def get_serializer_class(self):
        return s.ProjectDetailSerializer if self.action == "retrieve" else s.ProjectSerializer

    def get_serializer(self, *args, **kwargs):
        """The budget figures of the projects being serialized, read once for all of them (a fixed number of
        queries per page)."""
        if args and isinstance(args[0], Project | list):
            projects = [args[0]] if isinstance(args[0], Project) else args[0]
            kwargs.setdefault("context", self.get_serializer_context())
            kwargs["context"]["budgets"] = {
                pk: b.figures
                for pk, b in budget_vs_actual(project_ids=[p.pk for p in projects], as_of=timezone.localdate()).items()
            }
            kwargs["context"]["can_see_costs"] = has_role(self.request.user, *COST_ROLES)
        return super().get_serializer(*args, **kwargs)


class ContractViewSet(ReadOnlyModelViewSet):
    queryset = Contract.objects.prefetch_related("lines").order_by("-signed_at", "-id")
    serializer_class = s.ContractSerializer
    filterset_class = ContractFilter
    allowed_roles = VIEW_ROLES


class ChangeOrderViewSet(mixins.CreateModelMixin, ReadOnlyModelViewSet):
    """Change orders: raised by PMs or sales, decided by finance or an admin (never by the requester)."""

    queryset = ChangeOrder.objects.prefetch_related("lines", "history").order_by("-created_at", "-id")
    serializer_class = s.ChangeOrderSerializer
    filterset_class = ChangeOrderFilter
    allowed_roles = VIEW_ROLES
    action_roles = {
        "create": CO_REQUEST_ROLES,
        "submit": CO_REQUEST_ROLES,
        "approve": CO_DECIDE_ROLES,
        "reject": CO_DECIDE_ROLES,
    }

    def _out(self, pk: int, code=status.HTTP_200_OK) -> Response:
        return Response(s.ChangeOrderSerializer(self.get_queryset().get(pk=pk)).data, status=code)

    @extend_schema(request=s.ChangeOrderInputSerializer, responses=s.ChangeOrderSerializer)
    def create(self, request, *args, **kwargs):
        data = s.ChangeOrderInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        co = services.change_order_create(
            contract_id=v["contract"].pk,
            by=request.user,
            title=v["title"],
            reason=v.get("reason", ""),
            lines=[dict(line) for line in v["lines"]],
        )
        return self._out(co.pk, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=s.ChangeOrderSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._out(services.change_order_submit(change_order_id=self.get_object().pk, by=request.user).pk)

    @extend_schema(request=None, responses=s.ChangeOrderSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve and apply: contract lines, milestones, contract end and project budget follow."""
        return self._out(services.change_order_approve(change_order_id=self.get_object().pk, by=request.user).pk)

    @extend_schema(request=s.ChangeOrderNoteSerializer, responses=s.ChangeOrderSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = s.ChangeOrderNoteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        co = services.change_order_reject(
            change_order_id=self.get_object().pk, by=request.user, note=data.validated_data["note"]
        )
        return self._out(co.pk)


class RateCardViewSet(mixins.CreateModelMixin, ReadOnlyModelViewSet):
    """Rate cards and their dated lines (no overlapping lines for one role: 400)."""

    queryset = RateCard.objects.prefetch_related(
        Prefetch("lines", queryset=RateCardLine.objects.order_by("role_id", "valid_from"))
    ).order_by("name")
    serializer_class = s.RateCardSerializer
    filterset_class = RateCardFilter
    allowed_roles = RATE_VIEW_ROLES
    action_roles = {"create": RATE_CARD_EDIT_ROLES, "lines": RATE_CARD_EDIT_ROLES}

    def create(self, request, *args, **kwargs):
        data = s.RateCardSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        card = services.rate_card_create(by=request.user, **data.validated_data)
        return Response(s.RateCardSerializer(self.get_queryset().get(pk=card.pk)).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=s.RateCardLineInputSerializer, responses=s.RateCardSerializer)
    @action(detail=True, methods=["post"])
    def lines(self, request, pk=None):
        card = self.get_object()
        data = s.RateCardLineInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.rate_card_line_create(by=request.user, rate_card_id=card.pk, **data.validated_data)
        return Response(s.RateCardSerializer(self.get_queryset().get(pk=card.pk)).data, status=status.HTTP_201_CREATED)
