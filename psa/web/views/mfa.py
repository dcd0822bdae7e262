"""Multi-factor sign-in pages: enter a code after the password, set up an authenticator app, and the MFA
settings (recovery codes). The rules are in psa.core.mfa."""

from io import BytesIO

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST

from psa.core.exceptions import DomainError
from psa.core.forms import form_apply_domain_error
from psa.core.mfa import (
    SESSION_KEY,
    mfa_enabled,
    mfa_recovery_codes_regenerate,
    mfa_session_verified,
    mfa_totp_begin,
    mfa_totp_confirm,
    mfa_verify,
)


class CodeForm(forms.Form):
    token = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(
            attrs={"class": "form-control", "autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return "/"


def _qr_svg(url: str) -> str:
    out = BytesIO()
    qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage).save(out)
    return out.getvalue().decode().split("?>", 1)[-1]  # inline in HTML: no XML declaration


@login_required
def mfa_verify_view(request):
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = mfa_verify(user=request.user, token=form.cleaned_data["token"])
        if device is not None:
            mfa_session_verified(request, device)
            return redirect(_next_url(request))
        form.add_error("token", "The code is not valid (or that recovery code was already used).")
    return render(request, "registration/mfa_verify.html", {"form": form, "next": _next_url(request)})


@login_required
def mfa_setup_view(request):
    if mfa_enabled(request.user) and not request.user.is_verified():
        # A new authenticator is no way around the code the current one owes.
        return redirect(f"{reverse('mfa-verify')}?{urlencode({'next': _next_url(request)})}")
    form = CodeForm(request.POST or None)
    device = mfa_totp_begin(user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            codes = mfa_totp_confirm(user=request.user, token=form.cleaned_data["token"])
        except DomainError as exc:
            form_apply_domain_error(form, exc)
        else:
            device.refresh_from_db()
            mfa_session_verified(request, device)
            return render(
                request, "registration/mfa_recovery_codes.html", {"recovery_codes": codes, "next": _next_url(request)}
            )
    context = {
        "form": form,
        "qr_svg": _qr_svg(device.config_url),
        "secret": device.config_url.split("secret=")[1].split("&")[0],
        "forced": request.session.get(SESSION_KEY) == "setup",
        "next": _next_url(request),
    }
    return render(request, "registration/mfa_setup.html", context)


@login_required
def mfa_settings_view(request):
    recovery_left = sum(device.token_set.count() for device in request.user.staticdevice_set.all())
    context = {"enabled": mfa_enabled(request.user), "recovery_left": recovery_left}
    return render(request, "registration/mfa_settings.html", context)


@require_POST
@login_required
def mfa_recovery_codes_view(request):
    try:
        codes = mfa_recovery_codes_regenerate(user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("mfa-settings")
    return render(request, "registration/mfa_recovery_codes.html", {"recovery_codes": codes, "next": "/"})
