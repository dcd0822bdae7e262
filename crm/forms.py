"""Pipeline and account forms. They collect input; the services decide (errors come back inline through
psa.core.forms.form_apply_domain_error)."""

from typing import cast

from django import forms
from django.contrib.auth import get_user_model

from crm.choices import BillingModel, StageKind
from crm.filtersets import sales_users
from crm.models import (
    Account,
    Contact,
    DeliveryRole,
    LineMilestone,
    Opportunity,
    OpportunityLine,
    RoleDemand,
    Stage,
    Vendor,
)
from crm.services.imports import UPLOAD_LIMIT
from psa.core.models import LegalEntity
from psa.core.roles import Role as UserRole


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class BootstrapMixin:
    fields: dict[str, forms.Field]  # the form's

    def _style(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")


def _entity_choice(form: forms.BaseForm, *, default: str) -> None:
    """The optional legal entity select: the active entities by code, labelled and explained."""
    field = cast(forms.ModelChoiceField, form.fields["entity"])
    field.queryset = LegalEntity.objects.filter(is_active=True).order_by("code")
    field.label = "Legal entity"
    field.empty_label = default
    field.help_text = "The firm's company that contracts and invoices."


class StyledModelForm(BootstrapMixin, forms.ModelForm):
    """A ModelForm for its fields and widgets only: the service validates the model (full_clean, cross-field
    rules) and its refusals come back inline, so the form skips its own model validation."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()

    def _post_clean(self) -> None:
        pass


class StyledForm(BootstrapMixin, forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class OpportunityForm(StyledModelForm):
    """Header of a deal. Empty probability takes the stage's default; empty currency the account's."""

    probability = forms.IntegerField(
        required=False, help_text="Percent. Leave empty for the stage's default.", min_value=None
    )
    currency = forms.ChoiceField(required=False, help_text="Leave empty for the account's currency.")

    class Meta:
        model = Opportunity
        fields = [
            "name",
            "account",
            "owner",
            "stage",
            "probability",
            "currency",
            "expected_close_date",
            "service_start",
            "service_end",
            "service_type",
            "payment_terms_days",
            "delivery_manager",
            "notes",
            "entity",
        ]
        widgets = {
            "expected_close_date": DateInput(),
            "service_start": DateInput(),
            "service_end": DateInput(),
            "notes": forms.Textarea(attrs={"rows": 3}),
        }
        help_texts = {"payment_terms_days": "Days. Leave empty for the account's terms."}

    def __init__(self, *args, user=None, manager: bool = False, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        currencies = Opportunity._meta.get_field("currency").choices
        assert currencies is not None  # the model field has choices (CURRENCIES)
        cast(forms.ChoiceField, self.fields["currency"]).choices = [("", "Account's currency"), *currencies]
        cast(forms.ModelChoiceField, self.fields["stage"]).queryset = Stage.objects.filter(
            kind=StageKind.OPEN, is_active=True
        ).order_by("order")
        self.fields["stage"].required = False
        self.fields["owner"].queryset = sales_users()  # type: ignore[attr-defined]  # stubs type form fields as Field
        self.fields["owner"].required = False
        self.fields["delivery_manager"].queryset = (  # type: ignore[attr-defined]  # stubs type form fields as Field
            get_user_model().objects.filter(groups__name=UserRole.PROJECT_MANAGER, is_active=True).order_by("username")
        )
        _entity_choice(self, default="Default: the account's entity, else the owner's employer")
        if not manager:
            del self.fields["owner"]
        if editing:
            del self.fields["stage"]  # stage changes are moves (board), they write history


class OpportunityLineForm(StyledModelForm):
    class Meta:
        model = OpportunityLine
        fields = ["description", "billing_model", "hours", "rate", "price", "cap"]
        help_texts = {
            "hours": "Time and materials: estimated hours.",
            "rate": "Time and materials: hourly rate.",
            "price": "Fixed fee, milestone, retainer, subscription: the price.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["billing_model"].choices = [("", "— choose —"), *BillingModel.choices]


class LineChoiceMixin:
    fields: dict[str, forms.Field]  # the form's

    def limit_lines(self, opportunity: Opportunity) -> None:
        self.fields["line"].queryset = OpportunityLine.objects.filter(opportunity=opportunity)  # type: ignore[attr-defined]  # stubs type form fields as Field
        self.fields["line"].empty_label = None  # type: ignore[attr-defined]  # stubs type form fields as Field


class RoleDemandForm(LineChoiceMixin, StyledModelForm):
    line = forms.ModelChoiceField(queryset=OpportunityLine.objects.none())

    class Meta:
        model = RoleDemand
        fields = ["line", "role", "hours", "start_date", "end_date"]
        widgets = {"start_date": DateInput(), "end_date": DateInput()}

    def __init__(self, *args, opportunity: Opportunity, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_lines(opportunity)
        cast(forms.ModelChoiceField, self.fields["role"]).queryset = DeliveryRole.objects.filter(is_active=True)


class LineMilestoneForm(LineChoiceMixin, StyledModelForm):
    line = forms.ModelChoiceField(queryset=OpportunityLine.objects.none())

    class Meta:
        model = LineMilestone
        fields = ["line", "name", "amount", "due_date"]
        widgets = {"due_date": DateInput()}

    def __init__(self, *args, opportunity: Opportunity, **kwargs):
        super().__init__(*args, **kwargs)
        self.limit_lines(opportunity)
        self.fields["line"].queryset = self.fields["line"].queryset.filter(billing_model=BillingModel.MILESTONE)  # type: ignore[attr-defined]  # stubs type form fields as Field


class LoseForm(StyledForm):
    reason = forms.CharField(max_length=300, required=False, label="Why was it lost?")


class AccountForm(StyledModelForm):
    class Meta:
        model = Account
        fields = [
            "name",
            "legal_name",
            "country",
            "buyer_type",
            "tax_id",
            "domain",
            "billing_address",
            "billing_email",
            "currency",
            "payment_terms_days",
            "parent",
            "owner",
            "entity",
        ]
        widgets = {"billing_address": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = sales_users()
        parents = Account.objects.only("id", "name").order_by("name")
        if self.instance.pk:
            parents = parents.exclude(pk=self.instance.pk)
        self.fields["parent"].queryset = parents
        _entity_choice(self, default="None: the sales owner's employer")


class ContactForm(StyledModelForm):
    class Meta:
        model = Contact
        fields = ["first_name", "last_name", "email", "phone", "job_title", "is_billing_contact"]


class ImportForm(StyledForm):
    KINDS = [("accounts", "Accounts"), ("opportunities", "Opportunities")]
    kind = forms.ChoiceField(choices=KINDS, label="What the file holds")
    file = forms.FileField(
        help_text=f"A CSV export with a header row (see the columns below), {UPLOAD_LIMIT.describe()}."
    )

    def __init__(self, *args, kinds: list[str] | None = None, **kwargs):
        """`kinds`: what this user may import (crm.permissions.import_kinds); only those are offered, so a kind
        the user may not import is refused by the form before the file is read."""
        super().__init__(*args, **kwargs)
        if kinds is not None:
            cast(forms.ChoiceField, self.fields["kind"]).choices = [(k, label) for k, label in self.KINDS if k in kinds]
            if len(kinds) == 1:
                self.fields["kind"].initial = kinds[0]


class VendorForm(StyledModelForm):
    class Meta:
        model = Vendor
        fields = [
            "name",
            "legal_name",
            "country",
            "tax_id",
            "street",
            "postcode",
            "city",
            "email",
            "currency",
            "payment_terms_days",
            "iban",
            "bic",
            "bank_name",
            "is_subcontractor",
            "hourly_rate",
            "external_id",
            "is_active",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].required = False
        self.fields["name"].help_text = "The name people use (the legal name when empty)."


class OpportunityInlineForm(StyledModelForm):
    """The pipeline list's inline edit of a deal: what changes most between calls. The amount is the sum of the
    deal's lines (edited on its page); the stage moves on the board, where the move is recorded."""

    probability = forms.IntegerField(min_value=0, max_value=100, label="Probability (%)")

    class Meta:
        model = Opportunity
        fields = ["name", "probability", "expected_close_date"]
        widgets = {"expected_close_date": DateInput()}
        labels = {"name": "Deal name", "expected_close_date": "Expected close date"}
