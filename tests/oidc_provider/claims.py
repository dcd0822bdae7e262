"""The provider's claims: e-mail (verified when the user is in the provider's `email-verified` group) and the
`psa_roles` claim (the provider's groups named `role:<name>`), asked for with the `roles` scope."""

from oidc_provider.lib.claims import ScopeClaims


def userinfo(claims, user):
    claims["email"] = user.email
    claims["email_verified"] = user.groups.filter(name="email-verified").exists()
    claims["name"] = user.get_full_name()
    return claims


class RoleClaims(ScopeClaims):
    info_roles = ("Roles", "Your roles in PSA.")

    def scope_roles(self):
        names = self.user.groups.filter(name__startswith="role:").values_list("name", flat=True)
        return {"psa_roles": sorted(name.removeprefix("role:") for name in names)}
