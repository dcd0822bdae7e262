"""Sign-in lockout (django-axes): per username and per client address, each with its own limit.

Axes counts failed sign-ins for each set in AXES_LOCKOUT_PARAMETERS (here the username, and the client address
read by psa.core.clientip) but compares them all with one limit. A username may take AXES_FAILURE_LIMIT
failures, from any address, before it is locked; an address, which a whole office may share, may take
PSA_LOCKOUT_IP_FAILURE_LIMIT failures over all usernames. Both locks end after AXES_COOLOFF_TIME.
"""

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off, get_failure_limit
from django.conf import settings
from django.db.models import Sum
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render

from psa.core.exceptions import LockedOut

LOCKOUT_PARAMETERS = [["username"], ["ip_address"]]


class LockoutHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials: dict | None = None) -> int:
        """The failures as axes compares them with AXES_FAILURE_LIMIT: the username's count, or the address's
        count scaled so that it reaches the limit exactly at PSA_LOCKOUT_IP_FAILURE_LIMIT."""
        by_username, by_address = (
            attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        )
        limit = get_failure_limit(request, credentials)
        return max(by_username, by_address * limit // settings.PSA_LOCKOUT_IP_FAILURE_LIMIT)


def lockout_message(request=None) -> str:
    minutes = max(1, round(get_cool_off(request).total_seconds() / 60))
    return (
        f"Too many failed sign-ins: this account or this address is locked for {minutes} minutes. "
        "Try again later or ask an administrator to unlock it."
    )


def lockout_error(request=None) -> LockedOut:
    return LockedOut(lockout_message(request))


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """What a locked-out sign-in gets (AXES_LOCKOUT_CALLABLE): the API's error format under /api/, a page
    elsewhere; 429 either way, with Retry-After."""
    retry_after = str(int(get_cool_off(request).total_seconds()))
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse(lockout_error(request).as_dict(), status=429)
    else:
        context = {"message": lockout_message(request), "cooloff_timedelta": get_cool_off(request)}
        response = render(request, settings.AXES_LOCKOUT_TEMPLATE, context, status=429)
    response["Retry-After"] = retry_after
    return response
