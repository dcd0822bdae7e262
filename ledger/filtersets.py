"""Filters shared by the ledger's HTML lists and the API."""

import django_filters
from django import forms

from ledger.choices import AccountType, EntryOrigin
from ledger.models import JournalEntry, JournalLine, LedgerAccount
from psa.core.currency import CURRENCIES
from psa.core.filters import DateFilter
from psa.core.models import AuditEvent, ExchangeRate, RateSource

DATE = forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"})
TEXT = forms.TextInput(attrs={"class": "form-control form-control-sm"})
SELECT = forms.Select(attrs={"class": "form-select form-select-sm"})


class JournalEntryFilter(django_filters.FilterSet):
    date_from = DateFilter(field_name="date", lookup_expr="gte", label="From", widget=DATE)
    date_to = DateFilter(field_name="date", lookup_expr="lte", label="To", widget=DATE)
    q = django_filters.CharFilter(method="search", label="Number or memo", widget=TEXT)
    origin = django_filters.ChoiceFilter(choices=EntryOrigin.choices, widget=SELECT, empty_label="Any origin")
    account = django_filters.ModelChoiceFilter(
        queryset=LedgerAccount.objects.all(),
        to_field_name="code",
        method="with_account",
        label="Account",
        widget=SELECT,
        empty_label="Any account",
    )
    source = django_filters.CharFilter(lookup_expr="istartswith", widget=TEXT)

    class Meta:
        model = JournalEntry
        fields = ["date_from", "date_to", "q", "origin", "account", "source"]

    def search(self, queryset, name, value):
        return queryset.filter(number__icontains=value) | queryset.filter(memo__icontains=value)

    def with_account(self, queryset, name, value: LedgerAccount):  # the API takes the account code (drf-spectacular)
        return queryset.filter(pk__in=JournalLine.objects.filter(account=value).values("entry_id"))


class JournalLineFilter(django_filters.FilterSet):
    account = django_filters.CharFilter(field_name="account__code", label="Account code")
    date_from = DateFilter(field_name="date", lookup_expr="gte")
    date_to = DateFilter(field_name="date", lookup_expr="lte")

    class Meta:
        model = JournalLine
        fields = ["account", "date_from", "date_to", "client", "project", "period"]


class LedgerAccountFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Code or name", widget=TEXT)
    type = django_filters.ChoiceFilter(choices=AccountType.choices, widget=SELECT, empty_label="Any type")
    is_active = django_filters.BooleanFilter(
        widget=forms.NullBooleanSelect(attrs={"class": "form-select form-select-sm"})
    )

    class Meta:
        model = LedgerAccount
        fields = ["q", "type", "is_active", "is_control"]

    def search(self, queryset, name, value):
        return queryset.filter(code__istartswith=value) | queryset.filter(name__icontains=value)


LEDGER_ACTIONS = [
    ("ledger.entry_post", "Posted"),
    ("ledger.entry_reverse", "Reversed"),
    ("ledger.period_close", "Closed a period"),
    ("ledger.period_reopen", "Reopened a period"),
    ("ledger.account_create", "Created an account"),
    ("ledger.account_update", "Changed an account"),
]


class LedgerAuditFilter(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(choices=LEDGER_ACTIONS, widget=SELECT, empty_label="Any action")
    q = django_filters.CharFilter(field_name="summary", lookup_expr="icontains", label="Text", widget=TEXT)

    class Meta:
        model = AuditEvent
        fields = ["action", "q"]


class ExchangeRateFilter(django_filters.FilterSet):
    """Exchange rates by currency, quote, date range and source (the page and /api/v1/exchange-rates/)."""

    currency = django_filters.ChoiceFilter(choices=CURRENCIES, widget=SELECT, empty_label="Any currency")
    quote = django_filters.ChoiceFilter(choices=CURRENCIES, widget=SELECT, empty_label="Any quote")
    date_from = DateFilter(field_name="date", lookup_expr="gte", label="From", widget=DATE)
    date_to = DateFilter(field_name="date", lookup_expr="lte", label="To", widget=DATE)
    source = django_filters.ChoiceFilter(choices=RateSource.choices, widget=SELECT, empty_label="Any source")

    class Meta:
        model = ExchangeRate
        fields = ["currency", "quote", "date_from", "date_to", "source"]
