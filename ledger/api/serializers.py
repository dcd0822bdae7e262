"""Ledger API shapes. Input serializers only check types; the services decide."""

from decimal import Decimal

from rest_framework import serializers

from ledger.choices import AccountType
from ledger.models import AccountingPeriod, JournalEntry, JournalLine, LedgerAccount
from ledger.selectors import PNL_GROUPS
from psa.core.api import DateField
from psa.core.models import LegalEntity


class EntityQueryField(serializers.PrimaryKeyRelatedField):
    """`entity=<id>`: one legal entity's books; left out: all entities summed. An unknown id is a 400."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", LegalEntity.objects.all())
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "A legal entity's id: its books only. Left out: all entities summed.")
        super().__init__(**kwargs)


def entity_id_of(validated: dict) -> int | None:
    entity = validated.get("entity")
    return entity.pk if entity is not None else None


class LedgerAccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = LedgerAccount
        fields = ["id", "code", "name", "type", "system_role", "is_control", "is_active", "description"]
        read_only_fields = ["id", "system_role"]


class LedgerAccountInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=20)
    name = serializers.CharField(max_length=120)
    type = serializers.ChoiceField(choices=AccountType.choices)
    is_control = serializers.BooleanField(required=False, default=False)
    is_active = serializers.BooleanField(required=False, default=True)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class AccountingPeriodSerializer(serializers.ModelSerializer):
    label = serializers.CharField(read_only=True)  # type: ignore[assignment]  # a declared field, not the Field attribute of that name
    status = serializers.CharField(
        read_only=True, help_text="closed once every active legal entity has closed the month, else open"
    )
    closed_for = serializers.SerializerMethodField(
        help_text="The codes of the legal entities that have closed the month (their postings are refused)."
    )
    closed_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )

    class Meta:
        model = AccountingPeriod
        fields = ["id", "label", "start", "end", "status", "closed_for", "closed_at", "closed_by"]

    def get_closed_for(self, period: AccountingPeriod) -> list[str]:
        return sorted(close.entity.code for close in period.closes.all())


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=250)


class PeriodActionSerializer(ReasonSerializer):
    entity = EntityQueryField(
        help_text="The legal entity whose month it is (its id); left out: the default entity. The other "
        "entities' books stay as they are."
    )


class PeriodCloseSerializer(PeriodActionSerializer):
    override_reason = serializers.CharField(
        max_length=250,
        required=False,
        allow_blank=True,
        default="",
        help_text="Administrators only: close although blocking checklist items are outstanding (audited). "
        "Without it such a close is a 409 naming the items; from another role it is a 403.",
    )


class JournalLineSerializer(serializers.ModelSerializer):
    account: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)
    number = serializers.CharField(source="entry.number", read_only=True)
    balance = serializers.SerializerMethodField()

    class Meta:
        model = JournalLine
        fields = ["id", "entry", "number", "line_no", "date", "account", "debit", "credit", "client", "project",
                  "memo", "balance"]  # fmt: skip

    def get_balance(self, line) -> str | None:
        """Running balance (the account's normal sign) when the list is filtered to one account."""
        balances = self.context.get("balances")
        return f"{balances[line.pk]:.2f}" if balances and line.pk in balances else None


class EntryLineSerializer(serializers.ModelSerializer):
    account: serializers.SlugRelatedField = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = JournalLine
        fields = ["line_no", "account", "debit", "credit", "client", "project", "memo"]


class JournalEntrySerializer(serializers.ModelSerializer):
    lines = EntryLineSerializer(many=True, read_only=True)
    period = serializers.CharField(source="period.label", read_only=True)
    posted_by: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    reverses: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="number", read_only=True, allow_null=True
    )

    class Meta:
        model = JournalEntry
        fields = ["id", "number", "date", "period", "requested_date", "memo", "source", "origin", "idempotency_key",
                  "reverses", "auto_reverse_on", "total", "posted_at", "posted_by", "lines"]  # fmt: skip


class JournalLineInputSerializer(serializers.Serializer):
    account = serializers.CharField(max_length=20)
    debit = serializers.DecimalField(max_digits=18, decimal_places=2, required=False, default=Decimal("0"))
    credit = serializers.DecimalField(max_digits=18, decimal_places=2, required=False, default=Decimal("0"))
    client = serializers.IntegerField(required=False, allow_null=True, default=None)
    project = serializers.IntegerField(required=False, allow_null=True, default=None)
    memo = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class JournalEntryInputSerializer(serializers.Serializer):
    """A manual entry. `key` (or the Idempotency-Key header) makes it post once."""

    date = DateField()
    memo = serializers.CharField(max_length=300)
    lines = JournalLineInputSerializer(many=True)
    auto_reverse_on = DateField(required=False, allow_null=True, default=None)
    key = serializers.CharField(max_length=200, required=False)


class JournalReverseInputSerializer(serializers.Serializer):
    date = DateField(required=False)
    memo = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class TrialBalanceQuerySerializer(serializers.Serializer):
    entity = EntityQueryField()
    at = DateField(required=False)
    period = serializers.IntegerField(required=False)


class PnlQuerySerializer(serializers.Serializer):
    entity = EntityQueryField()
    start = DateField()
    end = DateField()
    by = serializers.ChoiceField(choices=list(PNL_GROUPS), required=False, default="")
    client = serializers.IntegerField(required=False)
    project = serializers.IntegerField(required=False)


class AtQuerySerializer(serializers.Serializer):
    entity = EntityQueryField()
    at = DateField(required=False)
