"""Multi-factor sign-in by django-otp: an authenticator app (TOTP device) plus single-use recovery codes
(a static device).

Rules:
- a user who has confirmed an authenticator signs in with the password and then a code (or a recovery code),
  whatever the sign-in path (the login page, the admin, the token endpoint);
- a user holding a role listed in PSA_MFA_REQUIRED_ROLES must set one up before anything else;
- the state is decided once at sign-in and kept in the session, so pages pay no query for it; a session
  waiting for its second factor reaches only the MFA pages and sign-out (the API answers 403 mfa_required).
"""

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.http import urlencode
from django_otp import DEVICE_ID_SESSION_KEY, devices_for_user, user_has_device
from django_otp import login as otp_login
from django_otp import verify_token as otp_verify_token
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from psa.core.api import error_body
from psa.core.audit import audit_record
from psa.core.exceptions import ValidationFailed
from psa.core.roles import has_role

RECOVERY_CODE_COUNT = 10
SESSION_KEY = "psa_mfa_pending"  # "verify" or "setup" while the second factor is outstanding
VERIFY, SETUP = "verify", "setup"


def mfa_enabled(user) -> bool:
    return user_has_device(user, confirmed=True)


def mfa_required(user) -> bool:
    roles = settings.PSA_MFA_REQUIRED_ROLES
    return bool(roles) and has_role(user, *roles)


def mfa_pending_for(user) -> str | None:
    """What a fresh sign-in of `user` still needs: a code, an authenticator set up, or nothing."""
    if mfa_enabled(user):
        return VERIFY
    if mfa_required(user):
        return SETUP
    return None


def _recovery_codes_new(user) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(user=user, defaults={"name": "Recovery codes"})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


@transaction.atomic
def mfa_totp_begin(*, user) -> TOTPDevice:
    """The authenticator being set up: one unconfirmed device per user, kept until it is confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


@transaction.atomic
def mfa_totp_confirm(*, user, token: str) -> list[str]:
    """Confirm the authenticator being set up with a code it shows; replaces any earlier authenticator and
    returns fresh recovery codes (shown once)."""
    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        raise ValidationFailed("Start the set-up first.", fields={"token": ["No authenticator is being set up."]})
    if not device.verify_token((token or "").strip().replace(" ", "")):
        raise ValidationFailed(
            "The code is not valid.", fields={"token": ["The code is not valid: enter the 6 digits the app shows."]}
        )
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _recovery_codes_new(user)
    audit_record(actor=user, action="mfa.enable", obj=user, summary="Authenticator app set up for sign-in")
    return codes


@transaction.atomic
def mfa_recovery_codes_regenerate(*, user) -> list[str]:
    """New recovery codes for an enrolled user; the old ones stop working."""
    if not mfa_enabled(user):
        raise ValidationFailed("Set up an authenticator app first.")
    codes = _recovery_codes_new(user)
    audit_record(actor=user, action="mfa.recovery_codes", obj=user, summary="Recovery codes replaced")
    return codes


def mfa_verify(*, user, token: str):
    """The device that accepts `token` (an authenticator code or an unused recovery code), or None. Each device
    throttles repeated failures (django-otp)."""
    token = (token or "").strip().replace(" ", "")
    if not token:
        return None
    for device in devices_for_user(user, confirmed=True):
        verified = otp_verify_token(user, device.persistent_id, token)
        if verified is not None:
            return verified
    return None


def mfa_session_verified(request, device) -> None:
    """Mark the session as past its second factor."""
    otp_login(request, device)
    request.session.pop(SESSION_KEY, None)


def _on_login(sender, request, user, **kwargs) -> None:
    if request is None or not hasattr(request, "session"):
        return
    pending = mfa_pending_for(user)
    if pending and not request.session.get(DEVICE_ID_SESSION_KEY):
        request.session[SESSION_KEY] = pending
    else:
        request.session.pop(SESSION_KEY, None)


user_logged_in.connect(_on_login, dispatch_uid="psa.core.mfa.on_login")


class MfaMiddleware:
    """Hold a signed-in session that still owes its second factor at the MFA pages (after OTPMiddleware)."""

    OPEN_PREFIXES = ("/accounts/mfa/", "/accounts/logout/", "/static/", "/healthz", "/readyz")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        pending = self._pending(request)
        if pending and not request.path.startswith(self.OPEN_PREFIXES):
            if request.path.startswith("/api/"):
                message = "Finish signing in with your one-time code first."
                return JsonResponse(error_body("mfa_required", message), status=403)
            return self._to_mfa_page(pending, request.get_full_path())
        response = self.get_response(request)
        pending_now = self._pending(request)
        if pending_now and not pending and response.status_code in (301, 302, 303):
            # The password was just accepted (login page, admin): go to the second factor, then on.
            return self._to_mfa_page(pending_now, response["Location"])
        return response

    @staticmethod
    def _pending(request) -> str | None:
        session = getattr(request, "session", None)
        return session.get(SESSION_KEY) if session is not None else None

    @staticmethod
    def _to_mfa_page(pending: str, next_url: str) -> HttpResponseRedirect:
        target = reverse("mfa-verify" if pending == VERIFY else "mfa-setup")
        return HttpResponseRedirect(f"{target}?{urlencode({'next': next_url})}" if next_url != "/" else target)
