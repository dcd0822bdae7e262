"""Admin for staffing master data (consultants with skills, cost rates and time off; skills; expense
policies; task terms). Time entries and expenses are read-only here: their states change through services."""

from django.contrib import admin

from projects.models import (
    Allocation,
    Consultant,
    ConsultantSkill,
    CostRate,
    Expense,
    ExpensePolicy,
    Skill,
    TaskTerms,
    TimeEntry,
    TimeOff,
)
from psa.core.admin import ReadOnlyAdmin


class ConsultantSkillInline(admin.TabularInline):
    model = ConsultantSkill
    extra = 1


class CostRateInline(admin.TabularInline):
    model = CostRate
    extra = 1


class TimeOffInline(admin.TabularInline):
    model = TimeOff
    extra = 0


@admin.register(Consultant)
class ConsultantAdmin(admin.ModelAdmin):
    list_display = ["__str__", "role", "weekly_capacity", "utilization_target", "is_active"]
    list_filter = ["role", "is_active"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]
    list_select_related = ["user", "role"]
    inlines = [ConsultantSkillInline, CostRateInline, TimeOffInline]


admin.site.register(Skill)
admin.site.register(ExpensePolicy)
admin.site.register(TaskTerms)


@admin.register(Allocation)
class AllocationAdmin(admin.ModelAdmin):
    list_display = ["consultant", "project", "kind", "hours_per_week", "start_date", "end_date"]
    list_filter = ["kind"]
    list_select_related = ["consultant__user", "project"]


@admin.register(TimeEntry)
class TimeEntryAdmin(ReadOnlyAdmin):
    list_display = ["date", "consultant", "project", "hours", "status", "billable", "bill_rate"]
    list_filter = ["status", "billable"]
    list_select_related = ["consultant__user", "project"]
    show_full_result_count = False


@admin.register(Expense)
class ExpenseAdmin(ReadOnlyAdmin):
    list_display = ["date", "consultant", "project", "amount", "currency", "status", "rebill_amount"]
    list_filter = ["status", "category"]
    list_select_related = ["consultant__user", "project"]
