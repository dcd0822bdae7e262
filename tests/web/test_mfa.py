"""Multi-factor sign-in (django-otp): an authenticator app (TOTP) with recovery codes; asked for after the
password on every sign-in path, required for configured roles, and needed for an API token too. The codes in
these tests are computed from the device's secret with django-otp's own TOTP implementation."""

import time

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from psa.core.mfa import mfa_totp_begin, mfa_totp_confirm
from tests.factories import TEST_PASSWORD
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db


def _code(device: TOTPDevice, steps_ahead: int = 0) -> str:
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def _enrol(user) -> tuple[TOTPDevice, list[str]]:
    device = mfa_totp_begin(user=user)
    codes = mfa_totp_confirm(user=user, token=_code(device))
    return device, codes


def _password_login(client, user):
    return client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD})


def test_an_enrolled_user_is_asked_for_a_code_after_the_password(client, make_user):
    user = make_user("finance")
    device, _ = _enrol(user)
    response = _password_login(client, user)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/mfa/verify/")
    gated = client.get("/dashboard/")
    assert gated.status_code == 302 and gated["Location"].startswith("/accounts/mfa/verify/")
    wrong = client.post("/accounts/mfa/verify/", {"token": "000000" if _code(device, 1) != "000000" else "111111"})
    assert wrong.status_code == 200
    assert b"not valid" in wrong.content
    # django-otp throttles the device for a second after a failure: wait until it lets a code through again.
    assert wait_for(lambda: type(device).objects.get(pk=device.pk).verify_is_allowed()[0], timeout=10, step=0.05)
    right = client.post("/accounts/mfa/verify/", {"token": _code(device, 1)})
    assert right.status_code == 302 and right["Location"] == "/"
    assert client.get("/dashboard/").status_code == 200


def test_a_recovery_code_signs_in_once(client, make_user):
    user = make_user("finance")
    _, codes = _enrol(user)
    assert len(codes) == 10
    _password_login(client, user)
    assert client.post("/accounts/mfa/verify/", {"token": codes[0]}).status_code == 302
    client.post("/accounts/logout/")
    _password_login(client, user)
    assert client.post("/accounts/mfa/verify/", {"token": codes[0]}).status_code == 200
    assert client.get("/dashboard/").status_code == 302


def test_a_session_owing_a_code_cannot_set_up_another_authenticator(client, make_user):
    user = make_user("finance")
    _enrol(user)
    _password_login(client, user)
    response = client.get("/accounts/mfa/setup/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/mfa/verify/")
    assert TOTPDevice.objects.filter(user=user).count() == 1


def test_an_unverified_session_gets_403_from_the_api_in_the_error_format(client, make_user):
    user = make_user("finance")
    _enrol(user)
    _password_login(client, user)
    response = client.get("/api/v1/me/")
    assert response.status_code == 403
    assert response.json()["code"] == "mfa_required"


def test_the_admin_site_is_gated_too(client, make_user):
    user = make_user("admin", is_staff=True, is_superuser=True)
    _enrol(user)
    client.post("/admin/login/", {"username": user.username, "password": TEST_PASSWORD})
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/mfa/verify/")


def test_the_token_endpoint_needs_a_code_from_an_enrolled_user(api_client, make_user):
    user = make_user("finance")
    device, _ = _enrol(user)
    without = api_client.post("/api/v1/auth/token/", {"username": user.username, "password": TEST_PASSWORD})
    assert without.status_code == 400
    assert "otp" in without.json()["fields"]
    with_code = api_client.post(
        "/api/v1/auth/token/", {"username": user.username, "password": TEST_PASSWORD, "otp": _code(device, 1)}
    )
    assert with_code.status_code == 200
    assert with_code.json()["token"]


def test_finance_must_enrol_when_the_setting_requires_it(client, make_user, settings):
    settings.PSA_MFA_REQUIRED_ROLES = ["finance", "admin"]
    user = make_user("finance")
    response = _password_login(client, user)
    assert response["Location"].startswith("/accounts/mfa/setup/")
    assert client.get("/dashboard/")["Location"].startswith("/accounts/mfa/setup/")
    page = client.get("/accounts/mfa/setup/")
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert b"<svg" in page.content
    refused = client.post("/accounts/mfa/setup/", {"token": "12345"})
    assert refused.status_code == 200 and b"not valid" in refused.content
    done = client.post("/accounts/mfa/setup/", {"token": _code(device)})
    assert done.status_code == 200
    assert len(done.context["recovery_codes"]) == 10
    assert done.context["recovery_codes"][0].encode() in done.content
    assert client.get("/dashboard/").status_code == 200


def test_roles_outside_the_setting_are_not_forced(client, make_user, settings):
    settings.PSA_MFA_REQUIRED_ROLES = ["finance", "admin"]
    user = make_user("sales")
    assert _password_login(client, user)["Location"] == "/"


def test_the_setup_refuses_a_wrong_code(make_user):
    from psa.core.exceptions import ValidationFailed

    user = make_user("sales")
    mfa_totp_begin(user=user)
    with pytest.raises(ValidationFailed) as refusal:
        mfa_totp_confirm(user=user, token="000000x")
    assert "token" in refusal.value.fields
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def test_the_settings_page_regenerates_recovery_codes(client, make_user):
    user = make_user("sales")
    device, old_codes = _enrol(user)
    _password_login(client, user)
    client.post("/accounts/mfa/verify/", {"token": _code(device, 1)})
    page = client.get("/accounts/mfa/")
    assert page.status_code == 200 and b"10 recovery codes left" in page.content
    fresh = client.post("/accounts/mfa/recovery-codes/")
    assert fresh.status_code == 200
    new_codes = fresh.context["recovery_codes"]
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
