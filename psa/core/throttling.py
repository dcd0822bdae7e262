"""API throttles: per user when signed in, per client address otherwise, and a stricter rate on the token
endpoint (a password guess costs a request). Rates are read per request from REST_FRAMEWORK's
DEFAULT_THROTTLE_RATES, so a changed setting takes effect without a restart of the class; the client address
is psa.core.clientip's, the same one the sign-in lockout counts. A refusal is a 429 with Retry-After in the
one error format (psa.core.api.exception_handler)."""

from rest_framework import throttling
from rest_framework.settings import api_settings

from psa.core.clientip import client_ip


class _SettingsRates:
    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_ident(self, request):
        return client_ip(request) or "unknown"


class AnonRateThrottle(_SettingsRates, throttling.AnonRateThrottle):
    scope = "anon"


class UserRateThrottle(_SettingsRates, throttling.UserRateThrottle):
    scope = "user"


class TokenEndpointThrottle(_SettingsRates, throttling.SimpleRateThrottle):
    """Every call of the token endpoint counts, per client address, whoever it claims to be."""

    scope = "token"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
