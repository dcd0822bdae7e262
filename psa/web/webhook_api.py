"""API for webhook subscriptions and their deliveries (administrators only)."""

from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from psa.core.api import GenericViewSet
from psa.core.models import OutboxMessage, WebhookAttempt, WebhookSubscription
from psa.core.roles import Role
from psa.core.webhooks import EVENT_TYPES, webhook_replay, webhook_subscription_create, webhook_subscription_update


class WebhookSubscriptionSerializer(serializers.ModelSerializer):
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=list(EVENT_TYPES)), allow_empty=False)

    class Meta:
        model = WebhookSubscription
        fields = ["id", "name", "url", "event_types", "active", "secret", "created_at"]
        read_only_fields = ["id", "secret", "created_at"]
        extra_kwargs: dict = {"url": {"validators": []}}


class WebhookSubscriptionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    GenericViewSet,
):
    """Subscriptions per event type. The signing secret is returned to administrators only."""

    allowed_roles = (Role.ADMIN,)
    serializer_class = WebhookSubscriptionSerializer
    queryset = WebhookSubscription.objects.order_by("name", "pk")
    filterset_fields = ["active"]

    def perform_create(self, serializer):
        serializer.instance = webhook_subscription_create(by=self.request.user, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = webhook_subscription_update(
            subscription_id=serializer.instance.pk, by=self.request.user, **serializer.validated_data
        )


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["id", "at", "status_code", "ok", "duration_ms", "error"]


class WebhookDeliverySerializer(serializers.ModelSerializer):
    subscription_id = serializers.IntegerField(source="payload.subscription_id", read_only=True)
    event_id = serializers.CharField(source="payload.event_id", read_only=True)
    attempts_log = WebhookAttemptSerializer(source="webhook_attempts", many=True, read_only=True)

    class Meta:
        model = OutboxMessage
        fields = [
            "id",
            "subscription_id",
            "event_id",
            "status",
            "attempts",
            "next_attempt_at",
            "last_error",
            "created_at",
            "delivered_at",
            "attempts_log",
        ]


class WebhookDeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    """The delivery log: one row per queued delivery with every attempt; `replay` sends it again."""

    allowed_roles = (Role.ADMIN,)
    serializer_class = WebhookDeliverySerializer
    queryset = (
        OutboxMessage.objects.filter(kind="webhook").prefetch_related("webhook_attempts").order_by("-created_at", "pk")
    )
    filterset_fields = ["status"]

    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        message = self.get_object()
        result = webhook_replay(message_id=str(message.pk), by=request.user)
        return Response(WebhookDeliverySerializer(result).data, status=status.HTTP_202_ACCEPTED)
