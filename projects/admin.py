"""Admin for engagement master data: project templates and rate cards. Rate-card lines are checked for
overlaps here too (the same selector as the service; PostgreSQL's exclusion constraint backs both).

Staffing master data (consultants with skills, cost rates and time off; skills; expense policies; task terms).
Time entries and expenses are read-only here: their states change through services."""

from django import forms
from django.contrib import admin

from projects.models import (
    Allocation,
    ChangeOrder,
    Consultant,
    ConsultantSkill,
    Contract,
    ContractLine,
    CostRate,
    Expense,
    ExpensePolicy,
    MilestoneTemplate,
    Project,
    ProjectTemplate,
    RateCard,
    RateCardLine,
    Skill,
    TaskTemplate,
    TaskTerms,
    TimeEntry,
    TimeOff,
)
from projects.selectors import rate_card_line_overlap
from psa.core.admin import ReadOnlyAdmin


class TaskTemplateInline(admin.TabularInline):
    model = TaskTemplate
    extra = 1


class MilestoneTemplateInline(admin.TabularInline):
    model = MilestoneTemplate
    extra = 1


@admin.register(ProjectTemplate)
class ProjectTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "service_type", "code_prefix"]
    inlines = [TaskTemplateInline, MilestoneTemplateInline]


class RateCardLineForm(forms.ModelForm):
    class Meta:
        model = RateCardLine
        fields = ["role", "rate", "valid_from", "valid_to"]

    def clean(self):
        data = super().clean()
        card = self.instance.rate_card_id or (self.parent_card.pk if getattr(self, "parent_card", None) else None)
        if card and data.get("role") and data.get("valid_from"):
            clash = rate_card_line_overlap(
                rate_card_id=card,
                role_id=data["role"].pk,
                valid_from=data["valid_from"],
                valid_to=data.get("valid_to"),
                exclude_id=self.instance.pk,
            )
            if clash:
                raise forms.ValidationError(f"Overlaps the {clash.role} rate valid from {clash.valid_from}.")
        return data


class RateCardLineInline(admin.TabularInline):
    model = RateCardLine
    form = RateCardLineForm
    extra = 1

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.parent_card = obj
        return formset


@admin.register(RateCard)
class RateCardAdmin(admin.ModelAdmin):
    list_display = ["name", "currency", "is_default"]
    inlines = [RateCardLineInline]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "account", "project_manager", "status", "start_date", "end_date", "budget_amount"]
    list_filter = ["status"]
    search_fields = ["code", "name", "account__name"]
    list_select_related = ["account", "project_manager"]
    readonly_fields = ["status", "budget_hours", "budget_amount"]
    raw_id_fields = ["account", "project_manager", "template"]


class ContractLineInline(admin.TabularInline):
    model = ContractLine
    extra = 0
    can_delete = False
    readonly_fields = [
        "position",
        "description",
        "billing_model",
        "hours",
        "rate",
        "price",
        "cap",
        "start_date",
        "end_date",
    ]
    fields = readonly_fields  # type: ignore[assignment]  # stubs type both as invariant lists


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = ["number", "account", "project", "currency", "start_date", "end_date"]
    search_fields = ["number", "account__name"]
    inlines = [ContractLineInline]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ChangeOrder)
class ChangeOrderAdmin(admin.ModelAdmin):
    list_display = ["contract", "number", "title", "status", "requested_by", "decided_by"]
    list_filter = ["status"]

    def has_change_permission(self, request, obj=None):
        return False


# --- staffing and time -------------------------------------------------------------------------------
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
