"""FilterSets shared by the project pages and the API."""

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q

from crm.choices import BillingModel
from crm.models import DeliveryRole
from projects.choices import ChangeOrderStatus, EntryStatus, ProjectStatus
from projects.models import ChangeOrder, Consultant, Contract, Project, RateCard, RateCardLine, TimeEntry
from psa.core.filters import DateFilter, IdFilter
from psa.core.models import LegalEntity
from psa.core.roles import Role


def _bootstrap(filterset) -> None:
    for field in filterset.form.fields.values():
        widget = field.widget
        css = "form-select form-select-sm" if widget.input_type == "select" else "form-control form-control-sm"
        widget.attrs.setdefault("class", css)


def project_managers(request=None):
    return get_user_model().objects.filter(groups__name=Role.PROJECT_MANAGER, is_active=True).order_by("username")


class ProjectFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label="Search", method="filter_q")
    status = django_filters.ChoiceFilter(choices=ProjectStatus.choices, empty_label="Any status")
    account = django_filters.CharFilter(label="Account", field_name="account__name", lookup_expr="icontains")
    account_id = IdFilter(field_name="account_id", widget=forms.HiddenInput)
    project_manager = django_filters.ModelChoiceFilter(
        label="Project manager",
        queryset=project_managers,  # type: ignore[arg-type]  # a callable is allowed
        empty_label="Any PM",
    )
    entity = django_filters.ModelChoiceFilter(
        label="Legal entity", queryset=LegalEntity.objects.order_by("code"), empty_label="Any entity"
    )

    class Meta:
        model = Project
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bootstrap(self)

    def filter_q(self, queryset, name, value):
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value)) if value else queryset


class ContractFilter(django_filters.FilterSet):
    account = IdFilter(field_name="account_id")
    project = IdFilter(field_name="project_id")
    opportunity = IdFilter(field_name="opportunity_id")
    billing_model = django_filters.ChoiceFilter(
        choices=BillingModel.choices, field_name="lines__billing_model", distinct=True
    )

    class Meta:
        model = Contract
        fields = ["currency"]


class ChangeOrderFilter(django_filters.FilterSet):
    contract = IdFilter(field_name="contract_id")
    project = IdFilter(field_name="contract__project_id")
    status = django_filters.ChoiceFilter(choices=ChangeOrderStatus.choices)

    class Meta:
        model = ChangeOrder
        fields: list[str] = []


class RateCardFilter(django_filters.FilterSet):
    class Meta:
        model = RateCard
        fields = ["currency", "is_default"]


class RateCardLineFilter(django_filters.FilterSet):
    rate_card = IdFilter(field_name="rate_card_id")
    role = IdFilter(field_name="role_id")
    valid_on = DateFilter(method="filter_valid_on", label="Valid on")

    class Meta:
        model = RateCardLine
        fields: list[str] = []

    def filter_valid_on(self, queryset, name, value):
        return queryset.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=value), valid_from__lte=value)


class TimeEntryFilter(django_filters.FilterSet):
    date_from = DateFilter(field_name="date", lookup_expr="gte")
    date_to = DateFilter(field_name="date", lookup_expr="lte")
    status = django_filters.ChoiceFilter(choices=EntryStatus.choices)
    project = IdFilter(field_name="project_id")
    consultant = IdFilter(field_name="consultant_id")

    class Meta:
        model = TimeEntry
        fields: list[str] = []


class PersonFilter(django_filters.FilterSet):
    """The people list: by name, delivery role, employing entity, employee or subcontractor, active or not."""

    q = django_filters.CharFilter(label="Search", method="filter_q")
    role = django_filters.ModelChoiceFilter(
        label="Delivery role", queryset=DeliveryRole.objects.order_by("name"), empty_label="Any role"
    )
    entity = django_filters.ModelChoiceFilter(
        label="Employing entity", queryset=LegalEntity.objects.order_by("code"), empty_label="Any entity"
    )
    kind = django_filters.ChoiceFilter(
        label="Kind",
        choices=[("employee", "Employees"), ("subcontractor", "Subcontractors")],
        empty_label="Anyone",
        method="filter_kind",
    )
    active = django_filters.ChoiceFilter(
        label="Status",
        choices=[("yes", "Active"), ("no", "Inactive")],
        empty_label="Any status",
        method="filter_active",
    )

    class Meta:
        model = Consultant
        fields: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bootstrap(self)

    def filter_q(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(
            Q(user__first_name__icontains=value)
            | Q(user__last_name__icontains=value)
            | Q(user__username__icontains=value)
            | Q(vendor__name__icontains=value)
        )

    def filter_kind(self, queryset, name, value):
        if value == "subcontractor":
            return queryset.filter(vendor__isnull=False)
        return queryset.filter(vendor__isnull=True) if value == "employee" else queryset

    def filter_active(self, queryset, name, value):
        return queryset.filter(is_active=value == "yes") if value in ("yes", "no") else queryset
