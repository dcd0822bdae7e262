"""projects API shapes."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.api.serializers import choice_text
from crm.choices import BillingModel
from crm.models import DeliveryRole
from projects.choices import (
    ChangeAction,
    ChangeOrderStatus,
    MilestoneStatus,
    ProjectStatus,
    ResourceRequestStatus,
    TaskStatus,
)
from projects.models import (
    ChangeOrder,
    ChangeOrderHistory,
    ChangeOrderLine,
    Contract,
    ContractLine,
    Milestone,
    Project,
    RateCard,
    RateCardLine,
    ResourceRequest,
    Task,
)
from projects.selectors.budget import BudgetFigures
from psa.core.api import DateField


class TaskSerializer(serializers.ModelSerializer):
    status = choice_text(TaskStatus.choices)

    class Meta:
        model = Task
        fields = ["id", "name", "order", "budget_hours", "status"]


class MilestoneSerializer(serializers.ModelSerializer):
    status = choice_text(MilestoneStatus.choices)

    class Meta:
        model = Milestone
        fields = ["id", "name", "amount", "due_date", "status", "contract_line", "achieved_at", "accepted_at"]


class ResourceRequestSerializer(serializers.ModelSerializer):
    status = choice_text(ResourceRequestStatus.choices)

    class Meta:
        model = ResourceRequest
        fields = ["id", "role", "hours", "start_date", "end_date", "status"]


class BudgetFiguresSerializer(serializers.Serializer):
    """Budget against actual to today (projects.selectors.budget): actual is approved time; the forecast at
    completion is by run-rate (`forecast_method`: "run-rate" or "actual"; the PM's estimate is the ledger's
    `/api/v1/ledger/estimates/`); `cost` is null for the roles that may not see cost rates."""

    actual_hours = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    submitted_hours = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    remaining_hours = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    percent_burned = serializers.DecimalField(max_digits=12, decimal_places=1, read_only=True, allow_null=True)
    value = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    remaining_amount = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    cost = serializers.SerializerMethodField()
    forecast_hours = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)
    forecast_percent = serializers.DecimalField(max_digits=12, decimal_places=1, read_only=True, allow_null=True)
    forecast_method = serializers.ChoiceField(choices=["run-rate", "actual", "estimate"], read_only=True)

    @extend_schema_field(serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True))
    def get_cost(self, obj: BudgetFigures) -> str | None:
        return f"{obj.cost:.2f}" if self.context.get("can_see_costs") else None


class ProjectSerializer(serializers.ModelSerializer):
    account_name = serializers.CharField(source="account.name", read_only=True)
    status = choice_text(ProjectStatus.choices)
    budget = serializers.SerializerMethodField()

    @extend_schema_field(BudgetFiguresSerializer(allow_null=True))
    def get_budget(self, obj: Project) -> dict | None:
        figures = self.context.get("budgets", {}).get(obj.pk)
        return BudgetFiguresSerializer(figures, context=self.context).data if figures else None

    class Meta:
        model = Project
        fields = [
            "id",
            "code",
            "name",
            "account",
            "account_name",
            "project_manager",
            "status",
            "start_date",
            "end_date",
            "currency",
            "budget_hours",
            "budget_amount",
            "alert_warning_percent",
            "alert_over_percent",
            "template",
            "budget",
        ]
        read_only_fields = fields


class ProjectDetailSerializer(ProjectSerializer):
    tasks = TaskSerializer(many=True, read_only=True)
    milestones = MilestoneSerializer(many=True, read_only=True)
    resource_requests = ResourceRequestSerializer(many=True, read_only=True)

    class Meta(ProjectSerializer.Meta):
        fields = [*ProjectSerializer.Meta.fields, "tasks", "milestones", "resource_requests"]
        read_only_fields = fields


class ContractLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = ContractLine
        fields = [
            "id",
            "position",
            "description",
            "billing_model",
            "hours",
            "rate",
            "price",
            "cap",
            "rate_card",
            "start_date",
            "end_date",
            "source_line",
        ]


class ContractSerializer(serializers.ModelSerializer):
    lines = ContractLineSerializer(many=True, read_only=True)

    class Meta:
        model = Contract
        fields = [
            "id",
            "number",
            "account",
            "opportunity",
            "project",
            "currency",
            "payment_terms_days",
            "start_date",
            "end_date",
            "signed_at",
            "lines",
        ]
        read_only_fields = fields


class DealWinResultSerializer(serializers.Serializer):
    created = serializers.BooleanField()
    contract = ContractSerializer()
    project = ProjectDetailSerializer()


class ChangeOrderLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChangeOrderLine
        fields = [
            "id",
            "action",
            "contract_line",
            "description",
            "billing_model",
            "rate",
            "hours_delta",
            "value_delta",
            "new_end_date",
            "milestone_name",
            "milestone_amount",
            "milestone_due_date",
        ]


class ChangeOrderHistorySerializer(serializers.ModelSerializer):
    class Meta:
        model = ChangeOrderHistory
        fields = ["at", "by", "from_status", "to_status", "note"]


class ChangeOrderSerializer(serializers.ModelSerializer):
    status = choice_text(ChangeOrderStatus.choices)
    lines = ChangeOrderLineSerializer(many=True, read_only=True)
    history = ChangeOrderHistorySerializer(many=True, read_only=True)

    class Meta:
        model = ChangeOrder
        fields = [
            "id",
            "contract",
            "number",
            "title",
            "reason",
            "status",
            "requested_by",
            "decided_by",
            "decided_at",
            "created_at",
            "lines",
            "history",
        ]
        read_only_fields = fields


class ChangeOrderLineInputSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=ChangeAction.choices)
    contract_line = serializers.PrimaryKeyRelatedField(queryset=ContractLine.objects.all(), required=False)
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    billing_model = serializers.ChoiceField(choices=BillingModel.choices, required=False, allow_blank=True)
    rate = serializers.DecimalField(max_digits=18, decimal_places=4, required=False, allow_null=True)
    hours_delta = serializers.DecimalField(max_digits=9, decimal_places=2, required=False)
    value_delta = serializers.DecimalField(max_digits=18, decimal_places=2, required=False)
    new_end_date = DateField(required=False, allow_null=True)
    milestone_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    milestone_amount = serializers.DecimalField(max_digits=18, decimal_places=2, required=False, allow_null=True)
    milestone_due_date = DateField(required=False, allow_null=True)


class ChangeOrderInputSerializer(serializers.Serializer):
    contract = serializers.PrimaryKeyRelatedField(queryset=Contract.objects.all())
    title = serializers.CharField(max_length=200)
    reason = serializers.CharField(required=False, allow_blank=True)
    lines = ChangeOrderLineInputSerializer(many=True)


class ChangeOrderNoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, allow_blank=True)


class RateCardLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = RateCardLine
        fields = ["id", "role", "rate", "valid_from", "valid_to"]


class RateCardSerializer(serializers.ModelSerializer):
    lines = RateCardLineSerializer(many=True, read_only=True)

    class Meta:
        model = RateCard
        fields = ["id", "name", "currency", "is_default", "lines"]
        # A card's rates mean nothing without their currency: the API asks for it rather than assume one.
        extra_kwargs = {"currency": {"required": True}}


class RateCardLineInputSerializer(serializers.Serializer):
    role = serializers.PrimaryKeyRelatedField(queryset=DeliveryRole.objects.all())
    rate = serializers.DecimalField(max_digits=18, decimal_places=4)
    valid_from = DateField()
    valid_to = DateField(required=False, allow_null=True)
