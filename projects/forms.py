"""projects forms (engagements, time, expenses, time off): they collect input, services decide."""

from decimal import Decimal
from typing import cast

from django import forms

from crm.choices import BillingModel
from crm.forms import DateInput, StyledForm
from projects.choices import ChangeAction, ExpenseCategory, TimeOffKind
from projects.models import Consultant, ContractLine, Project
from projects.services.expenses import RECEIPT_LIMIT
from projects.services.time_import import UPLOAD_LIMIT
from psa.core.dates import DateFormField


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
    currency = forms.CharField(max_length=3)
    billable = forms.BooleanField(required=False, initial=True)
    receipt = forms.FileField(required=False, help_text=f"PDF, PNG, JPEG or WebP, {RECEIPT_LIMIT.describe()}.")

    def __init__(self, *args, consultant: Consultant, **kwargs):
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["project"]).queryset = Project.objects.filter(
            allocations__consultant=consultant
        ).distinct()
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
