"""projects forms (engagements, time, expenses, time off): they collect input, services decide."""

from datetime import date
from decimal import Decimal
from typing import cast

from django import forms

from crm.choices import BillingModel
from crm.forms import DateInput, StyledForm
from crm.models import DeliveryRole, Vendor
from projects.choices import ChangeAction, ExpenseCategory, TimeOffKind
from projects.models import Consultant, ContractLine, Project
from projects.selectors.time import expense_default_project
from projects.services.expenses import RECEIPT_LIMIT
from projects.services.time_import import UPLOAD_LIMIT
from psa.core.currency import CURRENCIES, functional_currency
from psa.core.dates import DateFormField
from psa.core.models import LegalEntity


class ChangeOrderForm(StyledForm):
    """A change order with one change (the API takes several)."""

    title = forms.CharField(max_length=200)
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    action = forms.ChoiceField(choices=ChangeAction.choices)
    contract_line = forms.ModelChoiceField(queryset=ContractLine.objects.none(), required=False, help_text="To amend.")
    description = forms.CharField(max_length=200, required=False, help_text="For a new line.")
    billing_model = forms.ChoiceField(choices=[("", "—"), *BillingModel.choices], required=False)
    hours_delta = forms.DecimalField(max_digits=9, decimal_places=2, required=False, label="Hours (+/-)")
    value_delta = forms.DecimalField(max_digits=18, decimal_places=2, required=False, label="Value (+/-)")
    new_end_date = DateFormField(required=False, widget=DateInput())
    milestone_name = forms.CharField(max_length=200, required=False)
    milestone_amount = forms.DecimalField(max_digits=18, decimal_places=2, required=False)
    milestone_due_date = DateFormField(required=False, widget=DateInput())

    def __init__(self, *args, contract, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contract_line"].queryset = ContractLine.objects.filter(contract=contract)

    def change_spec(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("title")
        data.pop("reason")
        return {k: v for k, v in data.items() if v not in (None, "")}


class RejectForm(StyledForm):
    note = forms.CharField(max_length=300, required=False)


class TimeImportForm(StyledForm):
    file = forms.FileField(
        help_text=f"A CSV file with a header row (see the columns beside), {UPLOAD_LIMIT.describe()}."
    )


class CellForm(forms.Form):
    """One cell of the weekly timesheet grid, saved as the consultant types."""

    project = forms.IntegerField()
    task = forms.IntegerField(required=False)
    date = DateFormField()
    hours = forms.CharField(required=False, max_length=10)
    note = forms.CharField(required=False, max_length=500)


class ExpenseForm(forms.Form):
    project = forms.ModelChoiceField(queryset=Project.objects.none())
    date = DateFormField(widget=forms.DateInput(attrs={"type": "date"}))
    category = forms.ChoiceField(choices=ExpenseCategory.choices)
    description = forms.CharField(max_length=200, required=False)
    amount = forms.DecimalField(max_digits=18, decimal_places=2)
    currency = forms.ChoiceField(choices=CURRENCIES)
    billable = forms.BooleanField(required=False, initial=True)
    receipt = forms.FileField(required=False, help_text=f"PDF, PNG, JPEG or WebP, {RECEIPT_LIMIT.describe()}.")

    def __init__(self, *args, consultant: Consultant, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["project"]).queryset = Project.objects.filter(
            allocations__consultant=consultant
        ).distinct()
        if not self.is_bound:
            # The usual case filled in: today, the project last spent on, the employer's currency.
            self.initial.setdefault("date", date.today())
            self.initial.setdefault("project", expense_default_project(consultant))
            entity = consultant.entity
            self.initial.setdefault("currency", entity.functional_currency if entity else functional_currency())
        for field in self.fields.values():
            css = "form-check-input" if isinstance(field.widget, forms.CheckboxInput) else "form-control"
            if isinstance(field.widget, forms.Select):
                css = "form-select"
            field.widget.attrs.setdefault("class", css)


class TimeOffForm(forms.Form):
    kind = forms.ChoiceField(choices=TimeOffKind.choices, initial=TimeOffKind.LEAVE)
    start_date = DateFormField(widget=forms.DateInput(attrs={"type": "date"}))
    end_date = DateFormField(widget=forms.DateInput(attrs={"type": "date"}))
    hours_per_day = forms.DecimalField(
        max_digits=5, decimal_places=2, initial=Decimal("8"), help_text="Hours off on each weekday of the range."
    )
    note = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault(
                "class", "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            )


class PersonForm(StyledForm):
    """A consultant's record as resource managers edit it. Skills are typed one per line as "Name: level"."""

    username = forms.CharField(max_length=150, help_text="What they sign in with.")
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField(required=False)
    role = forms.ModelChoiceField(
        label="Delivery role", queryset=DeliveryRole.objects.filter(is_active=True), help_text="Prices their hours."
    )
    weekly_capacity = forms.DecimalField(
        label="Weekly capacity (hours)", max_digits=5, decimal_places=2, min_value=0, max_value=168, initial=40
    )
    utilization_target = forms.IntegerField(
        label="Utilization target (%)", min_value=0, max_value=100, initial=75, help_text="Billable share."
    )
    entity = forms.ModelChoiceField(
        label="Employing entity", queryset=LegalEntity.objects.filter(is_active=True).order_by("code")
    )
    vendor = forms.ModelChoiceField(
        label="Supplied by (subcontractor)",
        queryset=Vendor.objects.filter(is_subcontractor=True, is_active=True),
        required=False,
        empty_label="Employee (no vendor)",
        help_text="For a subcontractor: the vendor who bills their hours. Their cost is the vendor's rate.",
    )
    is_active = forms.BooleanField(label="Active", required=False, initial=True)
    skills = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text='One per line, "Skill: level" with a level from 1 (aware) to 5 (expert), e.g. "Django: 4".',
    )

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:  # the sign-in is not edited here
            for name in ("username", "first_name", "last_name", "email"):
                del self.fields[name]
        else:
            del self.fields["is_active"]

    def clean_skills(self) -> dict[str, int]:
        skills: dict[str, int] = {}
        for number, raw in enumerate(self.cleaned_data["skills"].splitlines(), start=1):
            if not raw.strip():
                continue
            name, _, level = raw.rpartition(":")
            if not name.strip() or not level.strip().isdigit() or not 1 <= int(level) <= 5:
                raise forms.ValidationError(
                    f'Line {number} ("{raw.strip()}") is not "Skill: level" with a level from 1 to 5.'
                )
            skills[name.strip()] = int(level)
        return skills


class CostRateForm(StyledForm):
    rate = forms.DecimalField(label="Hourly cost", max_digits=12, decimal_places=4, min_value=0)
    valid_from = DateFormField(label="Valid from", widget=DateInput())
