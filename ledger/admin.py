"""Admin: the chart of accounts is editable (through the same rules as the finance pages); the journal, periods
and stored balances are read-only here (posting, closing and reopening go through the services)."""

from django.contrib import admin

from ledger.models import (
    AccountBalance,
    AccountingPeriod,
    IntercompanyRun,
    JournalEntry,
    JournalLine,
    LedgerAccount,
    TransferRate,
)
from psa.core.admin import ReadOnlyAdmin


@admin.register(LedgerAccount)
class LedgerAccountAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "type", "system_role", "is_control", "is_active"]
    list_filter = ["type", "is_control", "is_active"]
    search_fields = ["code", "name"]
    readonly_fields = ["system_role"]

    def get_readonly_fields(self, request, obj=None):
        # Same rule as ledger.services.account_update: history must not move.
        return ["system_role", "code", "type"] if obj is not None and obj.lines.exists() else ["system_role"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccountingPeriod)
class AccountingPeriodAdmin(ReadOnlyAdmin):
    list_display = ["start", "end", "status", "closed_at", "closed_by"]
    list_filter = ["status"]


class JournalLineInline(admin.TabularInline):
    model = JournalLine
    fields = ["line_no", "account", "debit", "credit", "client", "project", "memo"]
    readonly_fields = fields  # type: ignore[assignment]  # stubs type both as invariant lists
    extra = 0
    can_delete = False


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["number", "date", "memo", "origin", "source", "total", "posted_by"]
    list_filter = ["origin"]
    search_fields = ["number", "memo", "source", "idempotency_key"]
    date_hierarchy = "date"
    inlines = [JournalLineInline]


@admin.register(AccountBalance)
class AccountBalanceAdmin(ReadOnlyAdmin):
    list_display = ["period", "account", "client", "project", "debit", "credit", "cum_debit", "cum_credit"]
    list_filter = ["period"]


@admin.register(TransferRate)
class TransferRateAdmin(admin.ModelAdmin):
    """Editable here as on Ledger → Intercompany; the database refuses a markup outside 0-1000 %, one entity on
    both sides and dates out of order (ledger migration 0014), and the form says so by the model's constraints."""

    list_display = ["supplier", "receiver", "role", "markup_percent", "valid_from", "valid_to"]
    list_filter = ["supplier", "receiver"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(IntercompanyRun)
class IntercompanyRunAdmin(ReadOnlyAdmin):
    list_display = ["month", "status", "hours", "amount", "posted", "entries", "started_at"]
    list_filter = ["status"]
