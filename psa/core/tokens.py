"""API tokens: one per integration, by django-rest-knox (a random secret, only its SHA-512 digest stored),
with a name, an access level (read only / read and write), an optional list of apps and an expiry.

Rules:
- the secret is returned once, by `api_token_create`; nothing can show it again;
- a token expires (`PSA_API_TOKEN_TTL_DAYS` by default, at most `PSA_API_TOKEN_MAX_TTL_DAYS`);
- a read-only token may only read; a token limited to apps reaches only the endpoints those apps own;
- the owner revokes their tokens, an admin anyone's; a password change revokes all of the user's tokens
  (`RevokeApiTokensOnPasswordChange`, which Django calls after any password change).
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import Resolver404, resolve
from django.utils import timezone
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox.auth import TokenAuthentication
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS

from psa.core.audit import audit_record
from psa.core.exceptions import NotFoundError, ValidationFailed
from psa.core.models import API_TOKEN_APPS, ApiToken, ApiTokenAccess
from psa.core.roles import Role, has_role


@transaction.atomic
def api_token_create(
    *,
    user,
    name: str,
    access: str = ApiTokenAccess.WRITE,
    apps: list[str] | tuple[str, ...] = (),
    expires_in_days: int | None = None,
) -> tuple[ApiToken, str]:
    """Issue a token for `user`; returns the row and the secret, which is not stored and never shown again."""
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["Give the token a name that says which integration uses it."]
    elif len(name) > 100:
        errors["name"] = ["At most 100 characters."]
    if access not in ApiTokenAccess.values:
        errors["access"] = [f"Choose one of: {', '.join(ApiTokenAccess.values)}."]
    unknown = sorted({str(a) for a in apps} - set(API_TOKEN_APPS))
    if unknown:
        errors["apps"] = [f"Unknown app: {', '.join(unknown)}. Choose from: {', '.join(API_TOKEN_APPS)}."]
    days = settings.PSA_API_TOKEN_TTL_DAYS if expires_in_days is None else expires_in_days
    if not 1 <= days <= settings.PSA_API_TOKEN_MAX_TTL_DAYS:
        errors["expires_in_days"] = [f"Between 1 and {settings.PSA_API_TOKEN_MAX_TTL_DAYS} days."]
    if errors:
        raise ValidationFailed("The token cannot be issued: " + ", ".join(sorted(errors)) + ".", fields=errors)
    token, secret = ApiToken.objects.create(
        user=user, expiry=timedelta(days=days), name=name, access=access, apps=sorted(set(apps))
    )
    audit_record(actor=user, action="api_token.create", obj=token, summary=f"API token '{name}' issued ({access})")
    return token, secret


def api_tokens_visible(*, user) -> QuerySet[ApiToken]:
    """The unexpired tokens `user` may see and revoke: their own; an admin, everyone's."""
    tokens = ApiToken.objects.select_related("user").filter(Q(expiry__isnull=True) | Q(expiry__gt=timezone.now()))
    return tokens if has_role(user, Role.ADMIN) else tokens.filter(user=user)


@transaction.atomic
def api_token_revoke(*, token_id: int, by) -> None:
    """Revoke one token: its owner's or, for an admin, anyone's; any other token is not found (404)."""
    token = api_tokens_visible(user=by).filter(pk=token_id).first()
    if token is None:
        raise NotFoundError("No such API token.")
    audit_record(
        actor=by, action="api_token.revoke", obj=token, summary=f"API token '{token.name}' of {token.user} revoked"
    )
    token.delete()


def api_tokens_revoke_for_user(*, user) -> int:
    """Revoke every token of `user` (their password changed)."""
    deleted, _ = ApiToken.objects.filter(user=user).delete()
    return deleted


class RevokeApiTokensOnPasswordChange:
    """A password 'validator' that refuses nothing: Django calls `password_changed` after every password change
    (the user's own page, the admin, a reset, `changepassword`), which is the moment tokens must end."""

    def validate(self, password, user=None) -> None:
        return None

    def password_changed(self, password, user=None) -> None:
        if user is not None and user.pk is not None:
            api_tokens_revoke_for_user(user=user)

    def get_help_text(self) -> str:
        return "Changing your password revokes your API tokens."


def _endpoint_app(request) -> tuple[str | None, bool]:
    """The app that owns the endpoint `request` calls, and whether the endpoint is open to every scope."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return None, False
    view = getattr(match.func, "cls", None) or getattr(match.func, "view_class", None) or match.func
    if getattr(view, "token_scope_exempt", False):
        return None, True
    module = view.__module__
    top = module.split(".")[0]
    if top in API_TOKEN_APPS:
        return top, False
    if module.startswith("psa.web"):
        return "web", False
    return None, False


def token_scope_check(*, token: ApiToken, request) -> None:
    """Refuse (403) a call outside the token's scope: a write with a read-only token, or another app's endpoint."""
    app, exempt = _endpoint_app(request)
    if exempt:
        return
    if token.access == ApiTokenAccess.READ and request.method not in SAFE_METHODS:
        raise exceptions.PermissionDenied("This API token is read-only: it cannot change data.")
    if token.apps and app not in token.apps:
        reach = ", ".join(token.apps)
        raise exceptions.PermissionDenied(
            f"This API token is limited to {reach}; {app or 'this endpoint'} is outside its scope."
        )


class ApiTokenAuthentication(TokenAuthentication):
    """knox's token authentication (hashed, expiring tokens) plus each token's scope, checked here so that it
    holds for every API view whatever its permission classes."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is not None:
            token_scope_check(token=result[1], request=request)
        return result


class ApiTokenScheme(KnoxTokenScheme):
    """The OpenAPI security scheme of ApiTokenAuthentication: `Authorization: Token <secret>`."""

    target_class = ApiTokenAuthentication  # type: ignore[assignment]  # a class or its path
    name = "apiToken"
