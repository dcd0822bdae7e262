"""Billing forms: they collect input; the services decide."""

from django import forms
from django.utils import timezone

from billing.choices import PaymentMethod, RunScope
from billing.services.payments import BANK_UPLOAD_LIMIT
from crm.models import Account
from projects.models import Project
from psa.core.dates import DateFormField
from psa.core.imports import DECIMAL_CONVENTIONS

W = {"class": "form-control"}


class RunForm(forms.Form):
    period_end = DateFormField(
        widget=forms.DateInput(attrs={"type": "date", **W}), help_text="Bill everything up to this date."
    )
    scope = forms.ChoiceField(
        choices=RunScope.choices, initial=RunScope.ALL, widget=forms.Select(attrs={"class": "form-select"})
    )
    accounts = forms.ModelMultipleChoiceField(
        queryset=Account.objects.order_by("name"),
        required=False,
        widget=forms.SelectMultiple(attrs={"class": "form-select", "size": 6}),
    )
    projects = forms.ModelMultipleChoiceField(
        queryset=Project.objects.order_by("code"),
        required=False,
        widget=forms.SelectMultiple(attrs={"class": "form-select", "size": 6}),
    )


class PaymentForm(forms.Form):
    account = forms.ModelChoiceField(
        queryset=Account.objects.order_by("name"), widget=forms.Select(attrs={"class": "form-select"})
    )
    amount = forms.DecimalField(
        max_digits=18, decimal_places=2, min_value=0, widget=forms.NumberInput(attrs={"step": "0.01", **W})
    )
    received_on = DateFormField(initial=timezone.localdate, widget=forms.DateInput(attrs={"type": "date", **W}))
    method = forms.ChoiceField(choices=PaymentMethod.choices, widget=forms.Select(attrs={"class": "form-select"}))
    reference = forms.CharField(max_length=200, required=False, widget=forms.TextInput(W))
    invoice = forms.IntegerField(required=False, widget=forms.HiddenInput)


class ImportForm(forms.Form):
    file = forms.FileField(
        help_text="CSV with columns date, amount, reference, bank_ref (and optionally invoice or account), "
        f"{BANK_UPLOAD_LIMIT.describe()}.",
        widget=forms.ClearableFileInput(attrs=W),
    )
    decimal = forms.ChoiceField(
        label="Amounts written as",
        choices=list(DECIMAL_CONVENTIONS.items()),
        initial="auto",
        widget=forms.Select(attrs={"class": "form-select"}),
        help_text="Detection reads the rows that show it (250,00 or 1,234.56); a cell that could be read both ways "
        "is refused until you choose.",
    )


class CreditNoteForm(forms.Form):
    lines = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked and no amount to credit the whole invoice.",
    )
    amount = forms.DecimalField(
        required=False,
        max_digits=18,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", **W}),
        help_text="Or a price reduction (net).",
    )
    reason = forms.CharField(max_length=300, widget=forms.TextInput(W))

    def __init__(self, *args, invoice=None, **kwargs):
        super().__init__(*args, **kwargs)
        if invoice is not None:
            self.fields["lines"].choices = [
                (str(ln.pk), f"{ln.position}. {ln.description} ({ln.net})") for ln in invoice.lines.all()
            ]


class WriteOffForm(forms.Form):
    amount = forms.DecimalField(
        required=False,
        max_digits=18,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", **W}),
        help_text="Empty = the whole open balance.",
    )
    reason = forms.CharField(max_length=300, widget=forms.TextInput(W))
