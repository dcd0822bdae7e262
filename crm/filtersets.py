"""FilterSets shared by the pipeline pages and the API."""

from datetime import date

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils import timezone

from crm.choices import COUNTRIES, CURRENCIES, OpportunityStatus
from crm.models import Account, Contact, Opportunity, Stage, Vendor
from psa.core.dates import MAX_DATE, MIN_DATE, month_start, months_between
from psa.core.filters import IdFilter
from psa.core.roles import Role


def _bootstrap(filterset) -> None:
    """Small Bootstrap controls in the filter bar."""
    for field in filterset.form.fields.values():
        widget = field.widget
        css = "form-select form-select-sm" if widget.input_type == "select" else "form-control form-control-sm"
        widget.attrs.setdefault("class", css)


def sales_users(request=None):
    return (
        get_user_model()
        .objects.filter(Q(groups__name=Role.SALES) | Q(groups__name=Role.ADMIN) | Q(is_superuser=True), is_active=True)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )


def close_month_choices(today: date, selected: str = "") -> list[tuple[str, str]]:
    """The close-month filter's options by name ("December 2026"): a year back to two years ahead, and the
    chosen month when it is outside that. A browser's own month input shows "--------- ----" when empty."""
    first = month_start(today)
    start = date(first.year - 1, first.month, 1)
    end = date(first.year + 2, first.month, 1)
    months = [(f"{m:%Y-%m}", f"{m:%B %Y}") for m in months_between(start, end)]
    if selected and selected not in dict(months):
        try:
            year, month = (int(p) for p in selected.split("-")[:2])
            months.insert(0, (f"{year:04d}-{month:02d}", f"{date(year, month, 1):%B %Y}"))
        except ValueError:
            pass
    return [("", "Any close month"), *months]


class OpportunityFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="Search", method="filter_q")
    owner = django_filters.ModelChoiceFilter(queryset=sales_users, empty_label="Any owner")  # type: ignore[arg-type]  # a callable is allowed
    stage = django_filters.ModelChoiceFilter(queryset=Stage.objects.order_by("order"), empty_label="Any stage")
    status = django_filters.ChoiceFilter(choices=OpportunityStatus.choices, empty_label="Any status")
    currency = django_filters.ChoiceFilter(choices=CURRENCIES, empty_label="Any currency")
    close_month = django_filters.CharFilter(label="Close month", method="filter_close_month", widget=forms.Select)
    account = django_filters.CharFilter(label="Account", field_name="account__name", lookup_expr="icontains")
    account_id = IdFilter(field_name="account_id", widget=forms.HiddenInput)
    amount_min = django_filters.NumberFilter(
        label="Amount from", field_name="amount", lookup_expr="gte", max_digits=18, decimal_places=2
    )
    amount_max = django_filters.NumberFilter(
        label="Amount to", field_name="amount", lookup_expr="lte", max_digits=18, decimal_places=2
    )

    class Meta:
        model = Opportunity
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        selected = (self.data.get("close_month") or "") if self.data else ""
        self.form.fields["close_month"].widget.choices = close_month_choices(timezone.localdate(), selected)
        _bootstrap(self)

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(account__name__icontains=value)) if value else queryset

    def filter_close_month(self, queryset, name, value):
        try:
            year, month = (int(p) for p in value.split("-")[:2])
        except ValueError:
            return queryset.none()
        if not (MIN_DATE.year <= year <= MAX_DATE.year and 1 <= month <= 12):
            return queryset.none()
        return queryset.filter(expected_close_date__year=year, expected_close_date__month=month)


class AccountFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="Search", method="filter_q")
    currency = django_filters.ChoiceFilter(choices=CURRENCIES, empty_label="Any currency")
    owner = django_filters.ModelChoiceFilter(queryset=sales_users, empty_label="Any owner")  # type: ignore[arg-type]  # a callable is allowed
    parent = IdFilter(field_name="parent_id", widget=forms.HiddenInput)

    class Meta:
        model = Account
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bootstrap(self)

    def filter_q(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(legal_name__icontains=value) | Q(domain__icontains=value))


class ContactFilter(django_filters.FilterSet):
    account = IdFilter(field_name="account_id")
    q = django_filters.CharFilter(label="Search", method="filter_q")

    class Meta:
        model = Contact
        fields = ["portal_access", "is_billing_contact"]

    def filter_q(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(
            Q(first_name__icontains=value) | Q(last_name__icontains=value) | Q(email__icontains=value)
        )


class VendorFilter(django_filters.FilterSet):
    """Vendors by name (or legal name, or tax id), country and whether they supply subcontractors."""

    q = django_filters.CharFilter(label="Search", method="filter_q")
    country = django_filters.ChoiceFilter(choices=COUNTRIES, empty_label="Any country")
    is_subcontractor = django_filters.BooleanFilter(label="Subcontractors")
    is_active = django_filters.BooleanFilter(label="Active")

    class Meta:
        model = Vendor
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bootstrap(self)

    def filter_q(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(legal_name__icontains=value) | Q(tax_id__icontains=value))
