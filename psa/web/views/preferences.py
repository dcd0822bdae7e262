"""My preferences: the date format pages use for me."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from psa.core.dateformat import DateFormat, firm_date_format
from psa.core.exceptions import DomainError
from psa.core.forms import form_apply_domain_error
from psa.web.preferences import SESSION_KEY, preference_date_format, preference_set_date_format


class PreferencesForm(forms.Form):
    date_format = forms.ChoiceField(label="Date format", widget=forms.RadioSelect, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        firm = DateFormat(firm_date_format()).label
        self.fields["date_format"].choices = [("", f"The firm's default: {firm}"), *DateFormat.choices]
        self.fields[
            "date_format"
        ].help_text = "How pages show dates. Date fields use your browser's date picker; the API and exports stay ISO."


@login_required
def preferences(request):
    form = PreferencesForm(request.POST or None, initial={"date_format": preference_date_format(request.user)})
    if request.method == "POST" and form.is_valid():
        try:
            preference_set_date_format(user=request.user, date_format=form.cleaned_data["date_format"])
        except DomainError as exc:
            form_apply_domain_error(form, exc)
        else:
            request.session[SESSION_KEY] = form.cleaned_data["date_format"]
            messages.success(request, "Preferences saved.")
            return redirect("preferences")
    return render(request, "web/preferences.html", {"form": form}, status=400 if form.errors else 200)
