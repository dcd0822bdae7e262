"""Admin for crm master data (stages, roles) and a read-mostly view of accounts and deals. Deals change
through the pipeline pages and the API (their services write history); the admin shows them read-only."""

from django.contrib import admin

from crm.models import Account, Contact, DeliveryRole, Opportunity, OpportunityLine, Stage, StageHistory


@admin.register(Stage)
class StageAdmin(admin.ModelAdmin):
    list_display = ["name", "order", "default_probability", "kind", "is_active"]
    list_editable = ["order", "default_probability", "is_active"]
    ordering = ["order"]


@admin.register(DeliveryRole)
class RoleAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "is_active"]
    prepopulated_fields = {"code": ["name"]}
    search_fields = ["name"]


class ContactInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ["first_name", "last_name", "email", "job_title", "is_billing_contact", "user", "portal_access"]
    raw_id_fields = ["user"]


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ["name", "legal_name", "currency", "payment_terms_days", "parent", "owner"]
    list_filter = ["currency"]
    search_fields = ["name", "legal_name", "domain", "external_id"]
    raw_id_fields = ["parent", "owner"]
    inlines = [ContactInline]


class LineInline(admin.TabularInline):
    model = OpportunityLine
    extra = 0
    can_delete = False
    fields = ["position", "description", "billing_model", "hours", "rate", "price", "cap", "amount"]
    readonly_fields = fields  # type: ignore[assignment]  # stubs type both as invariant lists


class HistoryInline(admin.TabularInline):
    model = StageHistory
    extra = 0
    can_delete = False
    fields = ["at", "by", "from_stage", "to_stage", "to_status", "probability", "note"]
    readonly_fields = fields  # type: ignore[assignment]  # stubs type both as invariant lists


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "owner", "stage", "status", "amount", "probability", "expected_close_date"]
    list_filter = ["status", "stage", "service_type"]
    search_fields = ["name", "account__name", "external_id"]
    list_select_related = ["account", "owner", "stage"]
    inlines = [LineInline, HistoryInline]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False
