"""The API root: one router at /api/v1/ that every app's `api/urls.py` registers into."""

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from psa.core.api import APIView, SignedOutIs401Mixin
from psa.core.roles import Role, primary_role, user_roles
from psa.web import webhook_api


class MeSerializer(serializers.ModelSerializer):
    roles = serializers.SerializerMethodField()
    primary_role = serializers.SerializerMethodField()

    class Meta:
        model = get_user_model()
        fields = ["id", "username", "email", "first_name", "last_name", "roles", "primary_role"]

    def get_roles(self, user) -> list[str]:
        return sorted(r.value for r in user_roles(user))

    def get_primary_role(self, user) -> str | None:
        role = primary_role(user)
        return role.value if role else None


class MeView(APIView):
    """The caller's identity and roles."""

    allowed_roles = tuple(Role)
    serializer_class = MeSerializer

    def get(self, request):
        return Response(MeSerializer(request.user).data)


class TokenView(ObtainAuthToken):
    """Exchange username and password for an API token (login lockout applies)."""


class SchemaView(SignedOutIs401Mixin, SpectacularAPIView):
    """The OpenAPI schema, for signed-in users only (it maps every endpoint and field)."""

    permission_classes = [IsAuthenticated]


# The interactive docs: a page, so a signed-out visitor is sent to the login (and back).
docs_view = login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema"))


router = DefaultRouter()
router.include_root_view = True


def app_routes():
    """Collect each app's routes; an app lists `routes = [(prefix, viewset, basename), ...]`."""
    import importlib

    for app in ("crm", "projects", "ledger", "billing"):
        try:
            module = importlib.import_module(f"{app}.api.urls")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app}.api.urls":
                raise
            continue
        for prefix, viewset, basename in getattr(module, "routes", []):
            router.register(prefix, viewset, basename=basename)


app_routes()
router.register("webhooks", webhook_api.WebhookSubscriptionViewSet, basename="api-webhook")
router.register("webhook-deliveries", webhook_api.WebhookDeliveryViewSet, basename="api-webhook-delivery")
