from django.contrib import admin

from psa.core.models import ApiToken, AuditEvent, Event, IdempotencyRecord, OutboxMessage, WebhookSubscription


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the application writes and others rely on (the audit log, events, the outbox, idempotency keys):
    the admin shows them and never adds, changes or deletes one. Replaying a failed message is done where it
    is audited (the webhook page), not by editing its row."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "dedupe_key", "status", "attempts", "next_attempt_at", "last_error"]
    list_filter = ["status", "kind"]
    search_fields = ["dedupe_key"]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "action", "object_type", "object_id", "summary"]
    list_filter = ["action", "object_type"]
    search_fields = ["summary", "object_id"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "user", "key", "method", "path", "response_status"]
    search_fields = ["key", "path"]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "active", "created_at"]
    list_filter = ["active"]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["occurred_at", "type", "key", "correlation_id"]
    list_filter = ["type"]
    search_fields = ["key", "correlation_id"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Admins list and revoke (delete) anyone's API tokens; tokens are issued only by their owner."""

    list_display = ["name", "user", "access", "apps", "created", "expiry"]
    list_filter = ["access"]
    search_fields = ["name", "user__username"]
    exclude = ["digest"]
    readonly_fields = ["name", "user", "token_key", "access", "apps", "created", "expiry"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
