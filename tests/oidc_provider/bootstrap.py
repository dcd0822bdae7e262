"""Prepare the provider's database: tables, a signing key, users and one client (PSA), from JSON on stdin:
{"client": {"client_id", "client_secret", "redirect_uri"}, "users": [{"username", "password", "email",
"verified", "roles"}]}. Run with DJANGO_SETTINGS_MODULE=tests.oidc_provider.settings."""

import json
import sys

import django
from django.core.management import call_command


def main() -> None:
    django.setup()
    from django.contrib.auth.models import Group, User
    from oidc_provider.models import Client, ResponseType

    spec = json.load(sys.stdin)
    call_command("migrate", verbosity=0)
    call_command("creatersakey")
    for row in spec["users"]:
        user = User.objects.create_user(row["username"], row["email"], row["password"])
        names = [f"role:{role}" for role in row["roles"]] + (["email-verified"] if row["verified"] else [])
        user.groups.set([Group.objects.get_or_create(name=name)[0] for name in names])
    client = Client.objects.create(
        name="PSA",
        client_type="confidential",
        client_id=spec["client"]["client_id"],
        client_secret=spec["client"]["client_secret"],
        jwt_alg="RS256",
        redirect_uris=[spec["client"]["redirect_uri"]],
        require_consent=False,
        reuse_consent=True,
        scope=["openid", "email", "profile", "roles"],
    )
    client.response_types.set(ResponseType.objects.filter(value="code"))


if __name__ == "__main__":
    main()
