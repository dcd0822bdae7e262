"""Revenue and month-end forms: they collect input; the services decide."""

from datetime import date

from django import forms

from crm.models import Account as Client
from ledger.choices import RecognitionMethod
from ledger.forms import DATE, MONEY, SELECT, TEXT
from ledger.models import AccountingPeriod
from projects.models import Project
from psa.core.dates import DateFormField


class ReportForm(forms.Form):
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


class EstimateForm(forms.Form):
    project = forms.ModelChoiceField(queryset=Project.objects.order_by("code"), widget=forms.Select(attrs=SELECT))
    as_of = DateFormField(initial=date.today, widget=DATE)
    etc_hours = forms.CharField(label="Hours to complete", widget=forms.TextInput(attrs=MONEY))
    etc_cost = forms.CharField(label="Cost to complete", required=False, widget=forms.TextInput(attrs=MONEY))
    note = forms.CharField(required=False, max_length=300, widget=forms.TextInput(attrs=TEXT))
