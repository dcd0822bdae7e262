"""Single sign-on for staff through OpenID Connect (mozilla-django-oidc), the way firms sign in with Entra ID,
Okta or Google Workspace.

Rules:
- a person signs in as the PSA user whose e-mail equals the provider's `email` claim, and only when the
  provider says the address is verified (`email_verified` true); nobody is created by a sign-in;
- the configured claim (PSA_OIDC_ROLE_CLAIM) sets the user's roles at each sign-in through PSA_OIDC_ROLE_MAP
  (provider value -> role); only staff roles can come from it, and a sign-in that maps to none is refused;
- the password, the lockout and the second factor still apply to every other way in.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from psa.core.audit import audit_record
from psa.core.roles import STAFF_ROLES, Role


def sso_roles_from_claims(claims: dict) -> set[Role]:
    """The staff roles the provider's role claim maps to (an unknown value maps to nothing)."""
    value = claims.get(settings.PSA_OIDC_ROLE_CLAIM)
    values = [value] if isinstance(value, str) else list(value or [])
    mapping = settings.PSA_OIDC_ROLE_MAP or {role.value: role.value for role in STAFF_ROLES}
    roles = set()
    for item in values:
        target = mapping.get(str(item))
        if target in {role.value for role in STAFF_ROLES}:
            roles.add(Role(target))
    return roles


@transaction.atomic
def sso_user_roles_set(*, user, roles: set[Role]):
    """Give `user` exactly these staff roles (other groups stay), as the identity provider says."""
    current = set(user.groups.filter(name__in=[r.value for r in STAFF_ROLES]).values_list("name", flat=True))
    wanted = {role.value for role in roles}
    if current != wanted:
        user.groups.remove(*Group.objects.filter(name__in=current - wanted))
        user.groups.add(*[Group.objects.get_or_create(name=name)[0] for name in sorted(wanted - current)])
        audit_record(
            actor=user,
            action="sso.roles",
            obj=user,
            summary=f"Roles set by single sign-on: {', '.join(sorted(wanted))}",
            data={"before": sorted(current), "after": sorted(wanted)},
        )
    return user


class StaffOidcBackend(OIDCAuthenticationBackend):
    """Authenticates the OpenID Connect callback only (never a username and password)."""

    def authenticate(self, request, **kwargs):
        if not settings.PSA_SSO_ENABLED or "nonce" not in kwargs or "username" in kwargs:
            return None
        return super().authenticate(request, **kwargs)

    def verify_claims(self, claims) -> bool:
        return bool(claims.get("email"))

    def filter_users_by_claims(self, claims):
        User = get_user_model()
        if claims.get("email_verified") is not True or not sso_roles_from_claims(claims):
            return User.objects.none()
        return User.objects.filter(email__iexact=claims["email"], is_active=True)

    def update_user(self, user, claims):
        return sso_user_roles_set(user=user, roles=sso_roles_from_claims(claims))
