"""The API root: one router at /api/v1/ holding the routes each app lists in its `api/urls.py` (crm, projects,
ledger, billing, imported by name) and the composition's own."""

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.decorators import login_required
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import mixins, serializers
from rest_framework import views as drf_views
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from billing.api import urls as billing_api_urls
from crm.api import urls as crm_api_urls
from ledger.api import urls as ledger_api_urls
from projects.api import urls as projects_api_urls
from psa.core.api import APIView, GenericViewSet, SignedOutIs401Mixin
from psa.core.exceptions import ValidationFailed
from psa.core.lockout import lockout_error
from psa.core.mfa import mfa_enabled, mfa_verify
from psa.core.models import ApiToken, ApiTokenAccess
from psa.core.roles import Role, primary_role, user_roles
from psa.core.throttling import TokenEndpointThrottle
from psa.core.tokens import api_token_create, api_token_revoke, api_tokens_visible
from psa.web import entity_api, webhook_api


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
    token_scope_exempt = True  # any token may ask whose it is

    def get(self, request):
        return Response(MeSerializer(request.user).data)


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, style={"input_type": "password"})
    name = serializers.CharField(max_length=100, required=False, default="API token")
    access = serializers.ChoiceField(choices=ApiTokenAccess.choices, default=ApiTokenAccess.WRITE)
    apps = serializers.ListField(
        child=serializers.CharField(max_length=20), required=False, default=list, max_length=10
    )
    expires_in_days = serializers.IntegerField(
        min_value=1, max_value=settings.PSA_API_TOKEN_MAX_TTL_DAYS, required=False, allow_null=True, default=None
    )
    otp = serializers.CharField(
        max_length=32, required=False, allow_blank=True, default="", help_text="One-time code, for accounts with MFA"
    )


class IssuedTokenSerializer(serializers.ModelSerializer):
    token = serializers.CharField(read_only=True, help_text="The secret: in this response only")

    class Meta:
        model = ApiToken
        fields = ["token", "id", "name", "access", "apps", "expiry"]


class TokenErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]  # a declared field, not the Field attribute of that name


class TokenView(drf_views.APIView):
    """Exchange username and password for a new API token: named, scoped, expiring (defaults: "API token",
    read and write, every app, `PSA_API_TOKEN_TTL_DAYS`). The secret is in this response only. Throttled per
    client address; the sign-in lockout applies."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenEndpointThrottle]
    serializer_class = TokenRequestSerializer

    @extend_schema(
        request=TokenRequestSerializer,
        responses={
            200: IssuedTokenSerializer,
            400: OpenApiResponse(TokenErrorSerializer, description="Bad input, wrong credentials or a missing code"),
            429: OpenApiResponse(TokenErrorSerializer, description="Throttled, or sign-in locked out"),
        },
    )
    def post(self, request):
        data = TokenRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        user = authenticate(request=request, username=fields["username"], password=fields["password"])
        if getattr(request, "axes_locked_out", False):
            raise lockout_error(request)
        if user is None or not user.is_active:
            raise serializers.ValidationError({"non_field_errors": ["Unable to log in with provided credentials."]})
        if mfa_enabled(user) and mfa_verify(user=user, token=fields["otp"]) is None:
            raise ValidationFailed(
                "This account signs in with a one-time code: send the code from the authenticator app as otp.",
                fields={"otp": ["A valid one-time code (or an unused recovery code) is required."]},
            )
        token, secret = api_token_create(
            user=user,
            name=fields["name"],
            access=fields["access"],
            apps=fields["apps"],
            expires_in_days=fields["expires_in_days"],
        )
        token.token = secret
        return Response(IssuedTokenSerializer(token).data)


class ApiTokenSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    prefix = serializers.SerializerMethodField()

    class Meta:
        model = ApiToken
        fields = ["id", "name", "user", "prefix", "access", "apps", "created", "expiry"]

    def get_prefix(self, token) -> str:
        return token.token_key[:8]


class ApiTokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, GenericViewSet):
    """The caller's API tokens (an admin: everyone's), without secrets; DELETE revokes one."""

    allowed_roles = tuple(Role)
    serializer_class = ApiTokenSerializer
    queryset = ApiToken.objects.none()  # the schema's model; requests use get_queryset

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return api_tokens_visible(user=self.request.user).order_by("-created", "-id")

    def perform_destroy(self, instance):
        api_token_revoke(token_id=instance.pk, by=self.request.user)


class SchemaView(SignedOutIs401Mixin, SpectacularAPIView):
    """The OpenAPI schema, for signed-in users only (it maps every endpoint and field)."""

    permission_classes = [IsAuthenticated]


# The interactive docs: a page, so a signed-out visitor is sent to the login (and back).
docs_view = login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema"))


router = DefaultRouter()
router.include_root_view = True
# Each app lists `routes = [(prefix, viewset, basename), ...]`.
for app_urls in (crm_api_urls, projects_api_urls, ledger_api_urls, billing_api_urls):
    for prefix, viewset, basename in app_urls.routes:
        router.register(prefix, viewset, basename=basename)
router.register("auth/tokens", ApiTokenViewSet, basename="api-token-mgmt")
router.register("entities", entity_api.LegalEntityViewSet, basename="api-entity")
router.register("webhooks", webhook_api.WebhookSubscriptionViewSet, basename="api-webhook")
router.register("webhook-deliveries", webhook_api.WebhookDeliveryViewSet, basename="api-webhook-delivery")
