"""A person's display preferences: the date format pages use for them.

The choice is stored on UserPreference and copied into the session at sign-in and on save, so a request reads
it from the session it already loads (no query per page); the middleware makes it the format of the request.
"""

from django.contrib.auth.models import User
from django.db import transaction

from psa.core.dateformat import PATTERNS, date_format_reset, date_format_use
from psa.core.exceptions import ValidationFailed
from psa.web.models import UserPreference

SESSION_KEY = "psa_date_format"


def preference_date_format(user: User) -> str:
    """The user's own choice, "" when they follow the firm's default."""
    return UserPreference.objects.filter(user=user).values_list("date_format", flat=True).first() or ""


@transaction.atomic
def preference_set_date_format(*, user: User, date_format: str) -> UserPreference:
    """Store the user's date format ("" = the firm's default); an unknown format is refused by name."""
    if date_format and date_format not in PATTERNS:
        raise ValidationFailed(
            f"'{date_format}' is not one of the date formats.", fields={"date_format": ["Pick one of the formats."]}
        )
    pref, _ = UserPreference.objects.update_or_create(user=user, defaults={"date_format": date_format})
    return pref


def on_login(sender, request, user, **kwargs) -> None:
    """Copy the stored choice into the new session (connected in WebConfig.ready)."""
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = preference_date_format(user)


class DateFormatMiddleware:
    """Dates on this request's pages in the user's format (the session's copy), the firm's otherwise."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        token = date_format_use(session.get(SESSION_KEY) if session is not None else None)
        try:
            return self.get_response(request)
        finally:
            date_format_reset(token)
