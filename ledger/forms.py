"""Ledger forms. They collect input only; the services decide (and their refusals come back inline)."""

import uuid
from datetime import date

from django import forms
from django.utils import timezone

from crm.models import Account as Client
from crm.models import DeliveryRole
from ledger.choices import AccountType, RecognitionMethod
from ledger.models import AccountingPeriod, LedgerAccount
from ledger.selectors import PNL_GROUPS
from ledger.selectors.exports import EXPORTERS
from projects.models import Project
from psa.core.currency import CURRENCIES
from psa.core.dates import DateFormField
from psa.core.ecb import ECB_UPLOAD_LIMIT
from psa.core.models import LegalEntity

DATE = forms.DateInput(attrs={"type": "date", "class": "form-control"}, format="%Y-%m-%d")
TEXT = {"class": "form-control"}
SELECT = {"class": "form-select"}
MONEY = {"class": "form-control text-end", "inputmode": "decimal", "placeholder": "0.00"}


class AccountForm(forms.Form):
    code = forms.CharField(max_length=20, widget=forms.TextInput(attrs=TEXT))
    name = forms.CharField(max_length=120, widget=forms.TextInput(attrs=TEXT))
    type = forms.ChoiceField(choices=AccountType.choices, widget=forms.Select(attrs=SELECT))
    is_control = forms.BooleanField(
        label="Control account",
        required=False,
        help_text="Only the system posts here (receivables, tax, contract positions).",
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    is_active = forms.BooleanField(
        label="Active", required=False, initial=True, widget=forms.CheckboxInput(attrs={"class": "form-check-input"})
    )
    description = forms.CharField(max_length=300, required=False, widget=forms.TextInput(attrs=TEXT))


class EntryForm(forms.Form):
    """The header of a manual journal entry. `key` makes a double submit post once."""

    key = forms.CharField(widget=forms.HiddenInput, max_length=255)
    date = DateFormField(widget=DATE, initial=timezone.localdate)
    memo = forms.CharField(max_length=300, widget=forms.TextInput(attrs=TEXT | {"placeholder": "What is it for?"}))
    auto_reverse_on = DateFormField(
        label="Reverse automatically on",
        required=False,
        widget=DATE,
        help_text="For accruals: the reversal is posted on this date.",
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("key", f"form:{uuid.uuid4()}")
        super().__init__(*args, **kwargs)


class LineForm(forms.Form):
    account = forms.ModelChoiceField(
        queryset=LedgerAccount.objects.filter(is_active=True, is_control=False),
        to_field_name="code",
        required=False,
        empty_label="— account —",
        widget=forms.Select(attrs=SELECT),
    )
    debit = forms.DecimalField(max_digits=18, decimal_places=2, required=False, widget=forms.TextInput(attrs=MONEY))
    credit = forms.DecimalField(max_digits=18, decimal_places=2, required=False, widget=forms.TextInput(attrs=MONEY))
    client = forms.ModelChoiceField(
        queryset=Client.objects.order_by("name"), required=False, empty_label="—", widget=forms.Select(attrs=SELECT)
    )
    project = forms.ModelChoiceField(
        queryset=Project.objects.order_by("code"), required=False, empty_label="—", widget=forms.Select(attrs=SELECT)
    )
    memo = forms.CharField(max_length=200, required=False, widget=forms.TextInput(attrs=TEXT))

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not any(data.get(f) for f in ("account", "debit", "credit", "client", "project", "memo"))


LineFormSet = forms.formset_factory(LineForm, extra=0, min_num=4, max_num=40)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        max_length=250, widget=forms.TextInput(attrs=TEXT | {"placeholder": "Why? (kept in the audit log)"})
    )


class EarlierMonthsForm(forms.Form):
    """Months before the calendar's first (ledger.services.history.periods_earlier_create)."""

    start = forms.DateField(
        label="First month",
        input_formats=["%Y-%m"],
        widget=forms.DateInput(attrs={"type": "month", "class": "form-control form-control-sm"}, format="%Y-%m"),
        error_messages={"invalid": "Enter a month as YYYY-MM."},
    )
    reason = forms.CharField(
        max_length=250,
        widget=forms.TextInput(
            attrs={"class": "form-control form-control-sm", "placeholder": "Why? (kept in the audit log)"}
        ),
    )


class ReverseForm(forms.Form):
    date = DateFormField(
        widget=DATE, initial=timezone.localdate, help_text="A closed month moves to the next open one."
    )
    memo = forms.CharField(max_length=300, required=False, widget=forms.TextInput(attrs=TEXT))


ALL_ENTITIES = "All entities"


def entity_field(*, empty_label: str | None = ALL_ENTITIES) -> forms.ModelChoiceField:
    """The legal-entity select of the books pages (`?entity=<id>`); empty: all entities summed."""
    return forms.ModelChoiceField(
        queryset=LegalEntity.objects.order_by("code"),
        required=False,
        empty_label=empty_label,
        label="Entity",
        widget=forms.Select(attrs=SELECT),
    )


class EntityFilterForm(forms.Form):
    entity = entity_field()


class EntityChoiceForm(forms.Form):
    """One entity's months (the periods and month-end pages): no "all" choice."""

    entity = entity_field(empty_label=None)


class TrialBalanceForm(EntityFilterForm):
    at = DateFormField(label="At date", required=False, widget=DATE)
    period = forms.ModelChoiceField(
        queryset=AccountingPeriod.objects.order_by("-start"),
        required=False,
        empty_label="— or a period —",
        widget=forms.Select(attrs=SELECT),
    )


class PnlForm(EntityFilterForm):
    start = DateFormField(widget=DATE, required=False)
    end = DateFormField(widget=DATE, required=False)
    by = forms.ChoiceField(
        label="Columns",
        choices=[(k, v) for k, v in PNL_GROUPS.items()],
        required=False,
        widget=forms.Select(attrs=SELECT),
    )


class BalanceSheetForm(EntityFilterForm):
    at = DateFormField(label="At date", required=False, widget=DATE)


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=[(k, k) for k in EXPORTERS], widget=forms.Select(attrs=SELECT))
    start = DateFormField(label="From", widget=DATE)
    end = DateFormField(label="To", widget=DATE)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "The end comes before the start.")
        return data


def year_start(on: date) -> date:
    return on.replace(month=1, day=1)


# --- revenue and month end ---------------------------------------------------------------------------------


class ReportForm(EntityFilterForm):
    start = DateFormField(required=False, widget=DATE)
    end = DateFormField(required=False, widget=DATE)
    client = forms.ModelChoiceField(
        queryset=Client.objects.order_by("name"), required=False, widget=forms.Select(attrs=SELECT)
    )
    project = forms.ModelChoiceField(
        queryset=Project.objects.order_by("code"), required=False, widget=forms.Select(attrs=SELECT)
    )
    by = forms.ChoiceField(
        choices=[("method", "Method"), ("client", "Client"), ("project", "Project"), ("month", "Month")],
        required=False,
        widget=forms.Select(attrs=SELECT),
    )

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", "The end comes after the start.")
        return data


class ScheduleFilter(forms.Form):
    method = forms.ChoiceField(
        choices=[("", "Any method"), *RecognitionMethod.choices], required=False, widget=forms.Select(attrs=SELECT)
    )
    q = forms.CharField(required=False, widget=forms.TextInput(attrs={**TEXT, "placeholder": "Project or contract"}))


class RunForm(forms.Form):
    period = forms.ModelChoiceField(
        queryset=AccountingPeriod.objects.filter(status="open").order_by("start"), widget=forms.Select(attrs=SELECT)
    )


class CostRunForm(forms.Form):
    """The labour cost run: any month (a closed month's corrections catch up into the first open one), and
    optionally one legal entity."""

    period = forms.ModelChoiceField(
        queryset=AccountingPeriod.objects.order_by("start"), label="Month", widget=forms.Select(attrs=SELECT)
    )
    entity = entity_field(empty_label="All entities")


class EstimateForm(forms.Form):
    project = forms.ModelChoiceField(queryset=Project.objects.order_by("code"), widget=forms.Select(attrs=SELECT))
    as_of = DateFormField(initial=date.today, widget=DATE)
    etc_hours = forms.CharField(label="Hours to complete", widget=forms.TextInput(attrs=MONEY))
    etc_cost = forms.CharField(label="Cost to complete", required=False, widget=forms.TextInput(attrs=MONEY))
    note = forms.CharField(required=False, max_length=300, widget=forms.TextInput(attrs=TEXT))


class ExchangeRateForm(forms.Form):
    """Enter or correct the rate of a date (psa.core.rates.exchange_rate_set checks the values)."""

    currency = forms.ChoiceField(widget=forms.Select(attrs=SELECT))
    date = DateFormField(initial=timezone.localdate, widget=DATE)
    rate = forms.CharField(
        max_length=40,
        help_text="Units of the functional currency for one unit of the currency, at most 10 decimal places.",
        widget=forms.TextInput(attrs={"class": "form-control text-end", "inputmode": "decimal"}),
    )

    def __init__(self, *args, functional: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["currency"].choices = [(c, label) for c, label in CURRENCIES if c != functional]  # type: ignore[attr-defined]
        self.fields["rate"].label = f"Rate (in {functional})"


class EcbImportForm(forms.Form):
    file = forms.FileField(
        label="ECB reference-rate file",
        help_text=f"eurofxref.zip or eurofxref-hist.zip as downloaded from the ECB, or the CSV inside it; "
        f"{ECB_UPLOAD_LIMIT.describe()}.",
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".zip,.csv"}),
    )


class RechargeForm(forms.Form):
    """The month of an intercompany recharge (any day of it)."""

    month = DateFormField(label="Month (any day of it)", widget=DATE)


class TransferRateForm(forms.Form):
    """A new transfer rate (ledger.services.intercompany.transfer_rate_create checks the values)."""

    supplier = forms.ModelChoiceField(
        label="Supplying entity (employer)",
        queryset=LegalEntity.objects.order_by("code"),
        widget=forms.Select(attrs=SELECT),
    )
    receiver = forms.ModelChoiceField(
        label="Receiving entity (project)",
        queryset=LegalEntity.objects.order_by("code"),
        widget=forms.Select(attrs=SELECT),
    )
    role = forms.ModelChoiceField(
        label="Delivery role",
        queryset=DeliveryRole.objects.order_by("name"),
        required=False,
        empty_label="— every role —",
        widget=forms.Select(attrs=SELECT),
    )
    markup_percent = forms.CharField(
        label="Markup on cost (%)", max_length=20, widget=forms.TextInput(attrs=MONEY | {"placeholder": "10.00"})
    )
    valid_from = DateFormField(widget=DATE)
    valid_to = DateFormField(required=False, widget=DATE)
    note = forms.CharField(max_length=200, required=False, widget=forms.TextInput(attrs=TEXT))


class ConsolidationForm(forms.Form):
    currency = forms.ChoiceField(label="Reporting currency", choices=CURRENCIES, widget=forms.Select(attrs=SELECT))
    at = DateFormField(label="Period end", widget=DATE)


class MatchingForm(forms.Form):
    year = forms.IntegerField(min_value=1900, max_value=2999, required=False, widget=forms.NumberInput(attrs=TEXT))
