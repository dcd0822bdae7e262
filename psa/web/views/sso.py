"""The single sign-on start and callback pages (mozilla-django-oidc's views), answering 404 when single
sign-on is not configured."""

from django.conf import settings
from django.http import Http404
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView


class _OnlyWhenConfigured:
    def dispatch(self, request, *args, **kwargs):
        if not settings.PSA_SSO_ENABLED:
            raise Http404("Single sign-on is not configured.")
        return super().dispatch(request, *args, **kwargs)


class SsoStartView(_OnlyWhenConfigured, OIDCAuthenticationRequestView):
    pass


class SsoCallbackView(_OnlyWhenConfigured, OIDCAuthenticationCallbackView):
    pass
