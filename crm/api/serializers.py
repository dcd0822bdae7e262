"""crm API shapes. Output serializers are read-only; input serializers validate types and hand the values to
the services, which decide."""

from django.contrib.auth import get_user_model
from rest_framework import serializers

from crm.choices import BillingModel, OpportunityStatus, ServiceType, StageKind
from crm.models import (
    Account,
    Contact,
    CreditHold,
    DeliveryRole,
    LineMilestone,
    Opportunity,
    OpportunityLine,
    RoleDemand,
    Stage,
    StageHistory,
)
from psa.core.api import DateField


def choice_text(choices, **kwargs) -> serializers.CharField:
    """A read-only status-like field documented as text listing its values. (Many apps have a `status` or
    `kind` field with different values; plain text keeps the OpenAPI enum names from colliding.)"""
    values = ", ".join(str(c[0]) for c in choices)
    return serializers.CharField(read_only=True, help_text=f"One of: {values}.", **kwargs)


class AccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = Account
        fields = [
            "id",
            "name",
            "legal_name",
            "tax_id",
            "country",
            "buyer_type",
            "domain",
            "billing_address",
            "billing_email",
            "currency",
            "payment_terms_days",
            "parent",
            "owner",
            "external_id",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]
        extra_kwargs: dict = {"external_id": {"validators": []}}  # uniqueness is the service's job (clear error)


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = [
            "id",
            "account",
            "first_name",
            "last_name",
            "email",
            "phone",
            "job_title",
            "is_billing_contact",
            "user",
            "portal_access",
        ]


class StageSerializer(serializers.ModelSerializer):
    kind = choice_text(StageKind.choices)

    class Meta:
        model = Stage
        fields = ["id", "name", "order", "default_probability", "kind", "is_active"]


class RoleSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryRole
        fields = ["id", "name", "code", "is_active"]


class LineMilestoneSerializer(serializers.ModelSerializer):
    class Meta:
        model = LineMilestone
        fields = ["id", "name", "amount", "due_date"]


class RoleDemandSerializer(serializers.ModelSerializer):
    class Meta:
        model = RoleDemand
        fields = ["id", "role", "hours", "start_date", "end_date"]


class OpportunityLineSerializer(serializers.ModelSerializer):
    milestones = LineMilestoneSerializer(many=True, read_only=True)
    role_demands = RoleDemandSerializer(many=True, read_only=True)

    class Meta:
        model = OpportunityLine
        fields = [
            "id",
            "position",
            "description",
            "billing_model",
            "hours",
            "rate",
            "price",
            "cap",
            "amount",
            "milestones",
            "role_demands",
        ]


class StageHistorySerializer(serializers.ModelSerializer):
    to_status = choice_text(OpportunityStatus.choices)

    class Meta:
        model = StageHistory
        fields = ["at", "by", "from_stage", "to_stage", "from_status", "to_status", "probability", "note"]


class OpportunitySerializer(serializers.ModelSerializer):
    weighted_amount = serializers.DecimalField(max_digits=18, decimal_places=2, read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)
    stage_name = serializers.CharField(source="stage.name", read_only=True)
    status = choice_text(OpportunityStatus.choices)

    class Meta:
        model = Opportunity
        fields = [
            "id",
            "name",
            "account",
            "account_name",
            "owner",
            "stage",
            "stage_name",
            "status",
            "currency",
            "amount",
            "probability",
            "weighted_amount",
            "expected_close_date",
            "service_start",
            "service_end",
            "service_type",
            "payment_terms_days",
            "delivery_manager",
            "lost_reason",
            "notes",
            "external_id",
            "closed_at",
            "created_at",
        ]
        read_only_fields = fields


class OpportunityDetailSerializer(OpportunitySerializer):
    lines = OpportunityLineSerializer(many=True, read_only=True)
    history = StageHistorySerializer(many=True, read_only=True)

    class Meta(OpportunitySerializer.Meta):
        fields = [*OpportunitySerializer.Meta.fields, "lines", "history"]
        read_only_fields = fields


class DealMilestoneInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    due_date = DateField()


class DealRoleDemandInputSerializer(serializers.Serializer):
    role = serializers.PrimaryKeyRelatedField(queryset=DeliveryRole.objects.all())
    hours = serializers.DecimalField(max_digits=9, decimal_places=2)
    start_date = DateField()
    end_date = DateField()


class DealLineInputSerializer(serializers.Serializer):
    description = serializers.CharField(max_length=200)
    billing_model = serializers.ChoiceField(choices=BillingModel.choices, required=False, allow_blank=True)
    hours = serializers.DecimalField(max_digits=9, decimal_places=2, required=False, allow_null=True)
    rate = serializers.DecimalField(max_digits=18, decimal_places=4, required=False, allow_null=True)
    price = serializers.DecimalField(max_digits=18, decimal_places=2, required=False, allow_null=True)
    cap = serializers.DecimalField(max_digits=18, decimal_places=2, required=False, allow_null=True)
    milestones = DealMilestoneInputSerializer(many=True, required=False)
    role_demands = DealRoleDemandInputSerializer(many=True, required=False)


class OpportunityInputSerializer(serializers.Serializer):
    """Create or edit a deal. Probability outside 0-100, an end before the start or a currency other than the
    account's are refused by the service with a 400 naming the field."""

    name = serializers.CharField(max_length=200)
    account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all())
    owner = serializers.PrimaryKeyRelatedField(queryset=get_user_model().objects.all(), required=False)
    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.all(), required=False)
    probability = serializers.IntegerField(required=False)
    currency = serializers.CharField(max_length=3, required=False)
    expected_close_date = DateField()
    service_start = DateField(required=False, allow_null=True)
    service_end = DateField(required=False, allow_null=True)
    service_type = serializers.ChoiceField(choices=ServiceType.choices, required=False, allow_blank=True)
    payment_terms_days = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=365)
    delivery_manager = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.all(), required=False, allow_null=True
    )
    notes = serializers.CharField(required=False, allow_blank=True)
    external_id = serializers.CharField(max_length=100, required=False, allow_blank=True, allow_null=True)
    lines = DealLineInputSerializer(many=True, required=False)


class DealMoveSerializer(serializers.Serializer):
    stage = serializers.PrimaryKeyRelatedField(queryset=Stage.objects.all())
    probability = serializers.IntegerField(required=False, allow_null=True)


class DealLoseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300, allow_blank=True)


class CsvImportSerializer(serializers.Serializer):
    kind = serializers.RegexField(r"^(accounts|opportunities)$", help_text="accounts or opportunities")
    file = serializers.FileField()
    dry_run = serializers.BooleanField(default=True)


class ImportRowSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    name = serializers.CharField()
    external_id = serializers.CharField()
    action = serializers.CharField()
    reason = serializers.CharField()


class ImportReportSerializer(serializers.Serializer):
    """The report of every CSV import (psa.core.imports.ImportReport): counts, how the file was read, each row."""

    kind = serializers.CharField()
    dry_run = serializers.BooleanField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    errors = serializers.IntegerField()  # type: ignore[assignment]  # a declared field, not the Field attribute of that name
    notes = serializers.ListField(child=serializers.CharField())
    rows = ImportRowSerializer(many=True)


class CreditHoldSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class CreditReleaseSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class CreditHoldOutSerializer(serializers.ModelSerializer):
    class Meta:
        model = CreditHold
        fields = ["id", "account", "source", "reason", "placed_by", "placed_at", "released_by", "released_at",
                  "release_note"]  # fmt: skip
        read_only_fields = fields
