"""The API tokens page: a user issues, lists and revokes their own tokens (an admin also sees everyone's)."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from psa.core.exceptions import DomainError, NotFoundError
from psa.core.forms import form_apply_domain_error
from psa.core.models import API_TOKEN_APPS, ApiTokenAccess
from psa.core.roles import Role, has_role
from psa.core.tokens import api_token_create, api_token_revoke, api_tokens_visible


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        widget=forms.TextInput(attrs={"class": "form-control", "placeholder": "e.g. Bank sync, BI dashboard"}),
        help_text="Which integration uses it: one token per integration, so each can be revoked alone.",
    )
    access = forms.ChoiceField(
        choices=ApiTokenAccess.choices,
        initial=ApiTokenAccess.READ,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    apps = forms.MultipleChoiceField(
        label="Limit to",
        choices=list(API_TOKEN_APPS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
        help_text="None ticked: every part of the API your role may use.",
    )
    expires_in_days = forms.IntegerField(
        label="Expires in (days)",
        min_value=1,
        max_value=settings.PSA_API_TOKEN_MAX_TTL_DAYS,
        initial=settings.PSA_API_TOKEN_TTL_DAYS,
        widget=forms.NumberInput(attrs={"class": "form-control"}),
    )


@login_required
def api_token_list(request):
    form = ApiTokenForm(request.POST or None)
    new_secret = None
    if request.method == "POST" and form.is_valid():
        try:
            token, new_secret = api_token_create(user=request.user, **form.cleaned_data)
        except DomainError as exc:
            form_apply_domain_error(form, exc)
        else:
            form = ApiTokenForm()
            messages.success(request, f"API token '{token.name}' issued. Copy the secret now: it is not shown again.")
    visible = api_tokens_visible(user=request.user).order_by("-created", "-id")
    context = {
        "form": form,
        "new_secret": new_secret,
        "own_tokens": [t for t in visible if t.user_id == request.user.pk],
        "other_tokens": [t for t in visible if t.user_id != request.user.pk],
        "is_admin": has_role(request.user, Role.ADMIN),
        "app_labels": API_TOKEN_APPS,
    }
    return render(request, "web/api_tokens.html", context)


@require_POST
@login_required
def api_token_revoke_view(request, pk: int):
    try:
        api_token_revoke(token_id=pk, by=request.user)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    messages.success(request, "API token revoked.")
    return redirect("api-tokens")
