"""FilterSets shared by the HTML lists and the API."""

import django_filters
from django import forms
from django.db.models import Q

from billing.choices import (
    DISPUTE_OPEN_STATUSES,
    DisputeChannel,
    DisputeReason,
    DisputeStatus,
    InvoiceKind,
    InvoiceStatus,
    PaymentMethod,
    RunStatus,
    VendorBillStatus,
)
from billing.models import BillingRun, Dispute, Invoice, Payment, VendorBill
from crm.models import Account, Vendor
from projects.models import Project
from psa.core.filters import DateFilter, IdFilter
from psa.core.models import LegalEntity

DATE = forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"})
SELECT = forms.Select(attrs={"class": "form-select form-select-sm"})
TEXT = forms.TextInput(attrs={"class": "form-control form-control-sm"})


class AccountIdFilter(django_filters.ModelChoiceFilter):
    """An account by id, for links from an account's page and the API. Rendered hidden: a select would send
    every account (thousands at a real firm) as an <option> with each page; people search by name instead."""

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Account.objects.order_by("name"))
        kwargs.setdefault("widget", forms.HiddenInput)
        super().__init__(**kwargs)


class InvoiceFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="Number or client", method="search", widget=TEXT)
    kind = django_filters.ChoiceFilter(choices=InvoiceKind.choices, widget=SELECT)
    status = django_filters.ChoiceFilter(choices=InvoiceStatus.choices, widget=SELECT)
    account = AccountIdFilter()
    entity = django_filters.ModelChoiceFilter(
        queryset=LegalEntity.objects.order_by("code"), label="Legal entity", widget=SELECT
    )
    issued_from = DateFilter(field_name="issue_date", lookup_expr="gte", label="Issued from", widget=DATE)
    issued_to = DateFilter(field_name="issue_date", lookup_expr="lte", label="Issued to", widget=DATE)
    run = IdFilter(field_name="run_id", widget=forms.HiddenInput)

    class Meta:
        model = Invoice
        fields = ["q", "kind", "status", "account", "entity", "issued_from", "issued_to", "run"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(number__icontains=value) | Q(buyer_name__icontains=value))


class PortalInvoiceFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=InvoiceKind.choices, widget=SELECT)
    status = django_filters.ChoiceFilter(choices=InvoiceStatus.choices, widget=SELECT)

    class Meta:
        model = Invoice
        fields = ["kind", "status"]


class PaymentFilter(django_filters.FilterSet):
    client = django_filters.CharFilter(field_name="account__name", lookup_expr="icontains", label="Client", widget=TEXT)
    account = AccountIdFilter()
    method = django_filters.ChoiceFilter(choices=PaymentMethod.choices, widget=SELECT)
    received_from = DateFilter(field_name="received_on", lookup_expr="gte", widget=DATE)
    received_to = DateFilter(field_name="received_on", lookup_expr="lte", widget=DATE)

    class Meta:
        model = Payment
        fields = ["client", "account", "method", "received_from", "received_to"]


class RunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RunStatus.choices, widget=SELECT)

    class Meta:
        model = BillingRun
        fields = ["status"]


class VendorBillFilter(django_filters.FilterSet):
    """Vendor bills by number or vendor, status, vendor, entity, project (any line on it) and bill dates."""

    q = django_filters.CharFilter(label="Number or vendor", method="search", widget=TEXT)
    status = django_filters.ChoiceFilter(choices=VendorBillStatus.choices, widget=SELECT)
    vendor = django_filters.ModelChoiceFilter(queryset=Vendor.objects.order_by("name"), widget=SELECT)
    entity = django_filters.ModelChoiceFilter(
        queryset=LegalEntity.objects.order_by("code"), label="Legal entity", widget=SELECT
    )
    project = django_filters.ModelChoiceFilter(
        queryset=Project.objects.order_by("code"), field_name="lines__project", distinct=True, widget=SELECT
    )
    date_from = DateFilter(field_name="bill_date", lookup_expr="gte", label="Dated from", widget=DATE)
    date_to = DateFilter(field_name="bill_date", lookup_expr="lte", label="Dated to", widget=DATE)

    class Meta:
        model = VendorBill
        fields = ["q", "status", "vendor", "entity", "project", "date_from", "date_to"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(number__icontains=value) | Q(vendor__name__icontains=value))


class DisputeFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="Invoice or client", method="search", widget=TEXT)
    state = django_filters.ChoiceFilter(
        label="State",
        choices=[("open", "Open (any)"), *DisputeStatus.choices],
        method="by_state",
        widget=SELECT,
        empty_label="Any state",
    )
    reason = django_filters.ChoiceFilter(choices=DisputeReason.choices, widget=SELECT)
    channel = django_filters.ChoiceFilter(choices=DisputeChannel.choices, label="Opened in", widget=SELECT)
    account = django_filters.ModelChoiceFilter(queryset=Account.objects.order_by("name"), widget=SELECT)
    owner = IdFilter(field_name="owner_id", widget=forms.HiddenInput)
    opened_from = DateFilter(field_name="opened_at", lookup_expr="date__gte", label="Opened from", widget=DATE)
    opened_to = DateFilter(field_name="opened_at", lookup_expr="date__lte", label="Opened to", widget=DATE)

    class Meta:
        model = Dispute
        fields = ["q", "state", "reason", "channel", "account", "owner", "opened_from", "opened_to"]

    def search(self, queryset, name, value):
        return queryset.filter(Q(invoice__number__icontains=value) | Q(account__name__icontains=value))

    def by_state(self, queryset, name, value):
        if value == "open":
            return queryset.filter(status__in=DISPUTE_OPEN_STATUSES)
        return queryset.filter(status=value)


class CollectionsFilter(django_filters.FilterSet):
    """The collections list's filters: client, legal entity, currency; `min_risk` (P(> 30 days late) at least, in
    percent) is applied to the predictions by the view, after the model has run."""

    account = django_filters.ModelChoiceFilter(queryset=Account.objects.order_by("name"), label="Client", widget=SELECT)
    entity = django_filters.ModelChoiceFilter(
        queryset=LegalEntity.objects.order_by("code"), label="Legal entity", widget=SELECT
    )
    currency = django_filters.CharFilter(label="Currency", widget=TEXT, method="by_currency")
    min_risk = django_filters.NumberFilter(
        label="P(>30 days late) at least, %",
        method="keep",
        widget=forms.NumberInput(attrs={"class": "form-control form-control-sm", "min": 0, "max": 100}),
    )

    class Meta:
        model = Invoice
        fields = ["account", "entity", "currency", "min_risk"]

    def by_currency(self, queryset, name, value):
        return queryset.filter(currency=value.strip().upper())

    def keep(self, queryset, name, value):
        return queryset

    @property
    def min_risk_value(self) -> int | None:
        if not self.form.is_valid() or self.form.cleaned_data.get("min_risk") is None:
            return None
        return max(0, min(100, int(self.form.cleaned_data["min_risk"])))
