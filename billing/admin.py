"""Admin: tax categories and account tax settings are master data; documents are read-only here (they change
only through the billing services)."""

from django.contrib import admin

from billing.models import (
    AccountTax,
    BillingRun,
    BillingRunItem,
    CapWriteDown,
    Invoice,
    InvoiceDelivery,
    InvoiceLine,
    Payment,
    PaymentAllocation,
    ScheduleEvent,
    SourceLink,
    TaxCategory,
    VatRate,
    WriteOff,
)
from billing.services.vat import account_tax_override_clear, account_tax_override_set
from psa.core.admin import ReadOnlyAdmin


@admin.register(TaxCategory)
class TaxCategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "rate", "exemption_reason", "exemption_code", "is_active"]
    list_filter = ["kind", "is_active"]


@admin.register(VatRate)
class VatRateAdmin(admin.ModelAdmin):
    """Dated VAT rates per country: a new rate is a new row from its date (history keeps every edit)."""

    list_display = ["country", "kind", "rate", "valid_from", "note"]
    list_filter = ["country", "kind"]
    ordering = ["country", "kind", "-valid_from"]


@admin.register(AccountTax)
class AccountTaxAdmin(admin.ModelAdmin):
    """An account's VAT override, with its reason: saved and removed through the audited services."""

    list_display = ["account", "tax_category", "reason", "set_by", "set_at"]
    fields = ["account", "tax_category", "reason"]
    raw_id_fields = ["account"]

    def save_model(self, request, obj, form, change):
        saved = account_tax_override_set(
            account_id=obj.account_id, category_code=obj.tax_category.code, reason=obj.reason, by=request.user
        )
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        account_tax_override_clear(account_id=obj.account_id, by=request.user, reason="removed in the admin")

    def delete_queryset(self, request, queryset):
        for account_id in queryset.values_list("account_id", flat=True):
            account_tax_override_clear(account_id=account_id, by=request.user, reason="removed in the admin")


class LineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    fields = ["position", "description", "quantity", "unit", "unit_price", "net", "tax_rate", "written_down"]
    readonly_fields = fields  # type: ignore[assignment]  # stubs type both as invariant lists
    can_delete = False


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "kind", "status", "account", "issue_date", "due_date", "gross_total", "currency"]
    list_filter = ["kind", "status", "currency"]
    search_fields = ["number", "buyer_name"]
    list_select_related = ["account"]
    inlines = [LineInline]


@admin.register(InvoiceDelivery)
class InvoiceDeliveryAdmin(ReadOnlyAdmin):
    """Who sent which document to whom ("Send to client"); the e-mail itself is the outbox message."""

    list_display = ["invoice", "to", "sent_by", "sent_at", "outbox_message"]
    list_select_related = ["invoice", "sent_by"]
    search_fields = ["invoice__number", "to"]


@admin.register(SourceLink)
class SourceLinkAdmin(ReadOnlyAdmin):
    list_display = ["kind", "source_id", "line", "amount", "released_at", "release_reason"]
    list_filter = ["kind"]


@admin.register(BillingRun)
class BillingRunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "period_end", "scope", "status", "created_by", "created_at"]
    list_filter = ["status"]


@admin.register(BillingRunItem)
class BillingRunItemAdmin(ReadOnlyAdmin):
    list_display = ["run", "contract", "status", "invoice", "attempts", "error"]
    list_filter = ["status"]


@admin.register(ScheduleEvent)
class ScheduleEventAdmin(ReadOnlyAdmin):
    list_display = ["contract_line", "sequence", "kind", "period_start", "period_end", "bill_on", "amount"]
    list_filter = ["kind"]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["pk", "account", "received_on", "amount", "amount_allocated", "currency", "reference"]


@admin.register(PaymentAllocation)
class AllocationAdmin(ReadOnlyAdmin):
    list_display = ["invoice", "payment", "credit_note", "amount", "created_at"]


@admin.register(WriteOff)
class WriteOffAdmin(ReadOnlyAdmin):
    list_display = ["invoice", "amount", "status", "requested_by", "decided_by", "reason"]


@admin.register(CapWriteDown)
class CapWriteDownAdmin(ReadOnlyAdmin):
    list_display = ["contract_line", "amount", "cap", "run", "created_at"]
