"""Engagement forms: they collect input, services decide."""

from django import forms

from crm.choices import BillingModel
from crm.forms import DateInput, StyledForm
from projects.choices import ChangeAction
from projects.models import ContractLine
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
