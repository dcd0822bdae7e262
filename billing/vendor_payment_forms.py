"""Filters (shared by the pages and the API) and forms for paying vendors and payment runs."""

import django_filters
from django import forms
from django.utils import timezone

from billing.choices import PaymentRunStatus
from billing.models import PaymentRun, VendorPayment
from crm.choices import CURRENCIES
from crm.models import Vendor
from psa.core.dates import DateFormField
from psa.core.filters import DateFilter
from psa.core.models import EntityBankAccount, LegalEntity

DATE = forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"})
SELECT = forms.Select(attrs={"class": "form-select form-select-sm"})
W = {"class": "form-control"}
S = {"class": "form-select"}


class VendorPaymentFilter(django_filters.FilterSet):
    vendor = django_filters.ModelChoiceFilter(queryset=Vendor.objects.order_by("name"), widget=SELECT)
    entity = django_filters.ModelChoiceFilter(
        queryset=LegalEntity.objects.order_by("code"), label="Legal entity", widget=SELECT
    )
    paid_from = DateFilter(field_name="paid_on", lookup_expr="gte", label="Paid from", widget=DATE)
    paid_to = DateFilter(field_name="paid_on", lookup_expr="lte", label="Paid to", widget=DATE)

    class Meta:
        model = VendorPayment
        fields = ["vendor", "entity", "paid_from", "paid_to"]


class PaymentRunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=PaymentRunStatus.choices, widget=SELECT)
    entity = django_filters.ModelChoiceFilter(
        queryset=LegalEntity.objects.order_by("code"), label="Legal entity", widget=SELECT
    )

    class Meta:
        model = PaymentRun
        fields = ["status", "entity"]


class VendorPaymentForm(forms.Form):
    vendor = forms.ModelChoiceField(queryset=Vendor.objects.filter(is_active=True), widget=forms.Select(attrs=S))
    entity = forms.ModelChoiceField(
        queryset=LegalEntity.objects.filter(is_active=True), label="Paid by (legal entity)",
        widget=forms.Select(attrs=S),
    )  # fmt: skip
    paid_on = DateFormField(initial=timezone.localdate, widget=forms.DateInput(attrs={"type": "date", **W}))
    amount = forms.DecimalField(max_digits=18, decimal_places=2, widget=forms.NumberInput(attrs={"step": "0.01", **W}))
    currency = forms.ChoiceField(
        choices=[("", "The vendor's currency"), *CURRENCIES], required=False, widget=forms.Select(attrs=S)
    )
    reference = forms.CharField(
        max_length=140, required=False, widget=forms.TextInput(W), help_text="Remittance information for the vendor."
    )


class BankAccountChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: EntityBankAccount) -> str:
        return f"{obj.entity.code} · {obj.currency} · {obj.iban}{f' ({obj.bank_name})' if obj.bank_name else ''}"


class PaymentRunForm(forms.Form):
    bank_account = BankAccountChoice(
        queryset=EntityBankAccount.objects.select_related("entity"), label="Pay from", widget=forms.Select(attrs=S)
    )
    execution_date = DateFormField(
        initial=timezone.localdate,
        help_text="The day the bank is asked to pay.",
        widget=forms.DateInput(attrs={"type": "date", **W}),
    )
    due_by = DateFormField(
        initial=timezone.localdate,
        label="Bills due by",
        help_text="Every open posted bill in the account's currency due on or before this day.",
        widget=forms.DateInput(attrs={"type": "date", **W}),
    )
    vendors = forms.ModelMultipleChoiceField(
        queryset=Vendor.objects.filter(is_active=True),
        required=False,
        help_text="Leave empty for every vendor.",
        widget=forms.SelectMultiple(attrs=S),
    )
