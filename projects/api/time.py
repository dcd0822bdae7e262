"""Time, expense, allocation and utilization API. Scoped: a consultant sees and changes only their own
entries and expenses (anyone else's is a 404); PMs see their projects'; finance and admins everything.

- `time-entries/`: list (keyset pages; filters date_from, date_to, status, project, consultant), create a
  draft, PATCH hours/note of a draft, DELETE a draft; `bulk/` (all or nothing, `Idempotency-Key` replays);
  `submit/` (a week), `approve/` and `reject/` (ids, reason) for the project's PM.
- `expenses/`: list, create (multipart with `receipt`), DELETE a draft; `submit/`, `approve/`, `reject/`.
- `allocations/`: list, create (PMs).
- `utilization/`: approved hours against capacity per consultant, role or month.
"""

from collections.abc import Callable
from datetime import date

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from projects.choices import EntryStatus, RebillPolicy
from projects.filtersets import TimeEntryFilter
from projects.models import Allocation, Consultant, Expense, TimeEntry
from projects.selectors import allocations_for, expenses_for, time_entries_for, utilization, week_warnings
from projects.services import expenses as expense_services
from projects.services import staffing as staffing_services
from projects.services import time as time_services
from psa.core.api import DateField, GenericViewSet, KeysetPagination
from psa.core.dates import parse_date
from psa.core.exceptions import PermissionDeniedError
from psa.core.files import file_url
from psa.core.roles import COST_ROLES, RATE_ROLES, Role, has_role
from psa.core.uploads import UploadLimitMixin

TIME_ROLES = (Role.CONSULTANT, Role.PROJECT_MANAGER, Role.FINANCE, Role.ADMIN)
DECIDE_ROLES = (Role.PROJECT_MANAGER, Role.ADMIN)


# --- shapes ---------------------------------------------------------------------------------------------
class TimeEntrySerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True, help_text="One of: draft, submitted, approved, rejected.")
    consultant_name = serializers.CharField(source="consultant.user.get_full_name", read_only=True)

    class Meta:
        model = TimeEntry
        fields = [
            "id", "consultant", "consultant_name", "project", "task", "date", "hours", "note", "status",
            "rejection_reason", "billable", "bill_rate", "cost_rate", "contract_line", "rate_card_line",
            "submitted_at", "approved_at", "source_key",
        ]  # fmt: skip
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        user = self.context["request"].user if "request" in self.context else None
        if user is not None and not has_role(user, *RATE_ROLES):
            data.pop("bill_rate")
        if user is not None and not has_role(user, *COST_ROLES):
            data.pop("cost_rate")
        return data


class EntryInputSerializer(serializers.Serializer):
    consultant = serializers.IntegerField(required=False, help_text="PMs and admins only; default: yourself.")
    project = serializers.IntegerField()
    task = serializers.IntegerField(required=False, allow_null=True)
    date = DateField()
    hours = serializers.DecimalField(max_digits=9, decimal_places=2)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    source_key = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")


class EntryUpdateSerializer(serializers.Serializer):
    hours = serializers.DecimalField(max_digits=9, decimal_places=2, required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class BulkInputSerializer(serializers.Serializer):
    entries = EntryInputSerializer(many=True, allow_empty=False, max_length=100_000)  # type: ignore[call-arg]  # for the ListSerializer


class WeekSerializer(serializers.Serializer):
    week = DateField(help_text="Any day of the week to submit.")
    consultant = serializers.IntegerField(required=False)


class DecisionSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(), allow_empty=False, max_length=10_000)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class CountSerializer(serializers.Serializer):
    count = serializers.IntegerField()


class SubmitResultSerializer(CountSerializer):
    warnings = serializers.ListField(
        child=serializers.CharField(),
        help_text="Days above the daily limit, the week above capacity: submitted anyway.",
    )


class ExpenseSerializer(serializers.ModelSerializer):
    status = serializers.CharField(read_only=True)
    rebill_policy = serializers.ChoiceField(
        choices=RebillPolicy.choices, allow_blank=True, read_only=True, help_text="Empty until approved."
    )

    receipt = serializers.SerializerMethodField(
        help_text="The receipt (signed-in, same access as the expense); null when none was filed."
    )

    def get_receipt(self, expense) -> str | None:
        if not expense.receipt:
            return None
        return file_url("expense-receipt", expense.pk, api=True, request=self.context.get("request"))

    class Meta:
        model = Expense
        fields = [
            "id", "consultant", "project", "date", "category", "description", "amount", "currency", "billable",
            "receipt", "status", "rejection_reason", "contract_line", "rebill_policy", "markup_percent",
            "rebill_amount", "submitted_at", "approved_at",
        ]  # fmt: skip
        read_only_fields = fields


class ExpenseInputSerializer(serializers.Serializer):
    consultant = serializers.IntegerField(required=False)
    project = serializers.IntegerField()
    date = DateField()
    category = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True, default="")
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    currency = serializers.CharField(max_length=3)
    billable = serializers.BooleanField(required=False, default=True)
    receipt = serializers.FileField(required=False, allow_null=True)


class StaffAllocationSerializer(serializers.ModelSerializer):
    confirm_overbooking = serializers.BooleanField(
        required=False, default=False, write_only=True,
        help_text="Book even beyond the consultant's free hours in the window; without it that is a 409 "
        "(code overbooking) naming the over-booking.",
    )  # fmt: skip

    class Meta:
        model = Allocation
        fields = [
            "id", "project", "consultant", "resource_request", "kind", "hours_per_week", "start_date", "end_date",
            "overbooked", "confirm_overbooking",
        ]  # fmt: skip
        read_only_fields = ["overbooked"]


class UtilizationRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not the Field attribute of that name
    capacity = serializers.DecimalField(max_digits=12, decimal_places=2)
    billable = serializers.DecimalField(max_digits=12, decimal_places=2)
    non_billable = serializers.DecimalField(max_digits=12, decimal_places=2)
    target = serializers.DecimalField(max_digits=5, decimal_places=1)
    utilization = serializers.DecimalField(max_digits=7, decimal_places=1)
    total_utilization = serializers.DecimalField(max_digits=7, decimal_places=1)


@extend_schema_serializer(many=False)  # `list` answers one report, not a list of them
class UtilizationSerializer(serializers.Serializer):
    start = DateField()
    end = DateField()
    by = serializers.CharField()
    rows = UtilizationRowSerializer(many=True)


# --- helpers --------------------------------------------------------------------------------------------
def _consultant_id(request, given: int | None) -> int:
    if given is not None and has_role(request.user, Role.PROJECT_MANAGER, Role.ADMIN):
        return given
    own = Consultant.objects.filter(user=request.user, is_active=True).values_list("pk", flat=True).first()
    if own is None:
        raise PermissionDeniedError("Only consultants log time: your login has no active consultant record.")
    if given is not None and given != own:
        raise PermissionDeniedError("You may only write your own time and expenses.")
    return own


def _spec(request, v: dict) -> time_services.EntrySpec:
    return time_services.EntrySpec(
        consultant_id=_consultant_id(request, v.get("consultant")),
        project_id=v["project"],
        task_id=v.get("task"),
        date=v["date"],
        hours=v["hours"],
        note=v.get("note", ""),
        source_key=v.get("source_key", ""),
    )


# --- views ----------------------------------------------------------------------------------------------
class DecisionActions:
    """`approve` and `reject` over a list of ids, all or nothing, for a queue of submitted items.

    A viewset names its two services and the keyword they take the ids by.
    """

    approve_service: Callable[..., int] | None = None
    reject_service: Callable[..., int] | None = None
    ids_keyword = "ids"

    def _decision(self, request) -> dict:
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return data.validated_data

    @extend_schema(request=DecisionSerializer, responses=CountSerializer)
    @action(detail=False, methods=["post"])
    def approve(self, request):
        """Approve submitted items of your projects (all or nothing); rates are copied onto time entries."""
        v = self._decision(request)
        return Response({"count": type(self).approve_service(by=request.user, **{self.ids_keyword: v["ids"]})})

    @extend_schema(request=DecisionSerializer, responses=CountSerializer)
    @action(detail=False, methods=["post"])
    def reject(self, request):
        """Send submitted items back to their consultant with a reason (all or nothing)."""
        v = self._decision(request)
        count = type(self).reject_service(by=request.user, reason=v["reason"], **{self.ids_keyword: v["ids"]})
        return Response({"count": count})


class TimeEntryViewSet(DecisionActions, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    serializer_class = TimeEntrySerializer
    pagination_class = KeysetPagination
    filterset_class = TimeEntryFilter
    allowed_roles = TIME_ROLES
    action_roles = {"approve": DECIDE_ROLES, "reject": DECIDE_ROLES}
    approve_service = time_services.time_entries_approve
    reject_service = time_services.time_entries_reject
    ids_keyword = "entry_ids"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return TimeEntry.objects.none()
        return time_entries_for(self.request.user).select_related("consultant__user")

    @extend_schema(request=EntryInputSerializer, responses={201: TimeEntrySerializer})
    def create(self, request):
        """Create a draft entry (400 naming the rule when refused)."""
        data = EntryInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        spec = _spec(request, data.validated_data)
        time_services.time_entries_bulk_create(by=request.user, specs=[spec])
        entry = TimeEntry.objects.get(
            consultant_id=spec.consultant_id, project_id=spec.project_id, task_id=spec.task_id, date=spec.date
        )
        return Response(self.get_serializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=EntryUpdateSerializer, responses=TimeEntrySerializer)
    def partial_update(self, request, pk=None):
        """Change hours or note of a draft or rejected entry (409 once submitted or approved)."""
        entry = self.get_object()
        data = EntryUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        updated = time_services.time_entry_update(by=request.user, entry_id=entry.pk, **data.validated_data)
        return Response(self.get_serializer(updated).data)

    def destroy(self, request, pk=None):
        time_services.time_entry_delete(by=request.user, entry_id=self.get_object().pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=BulkInputSerializer, responses={201: CountSerializer})
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        """Create many drafts at once, all or nothing; send an `Idempotency-Key` so a retry creates nothing
        twice."""
        data = BulkInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        specs = [_spec(request, v) for v in data.validated_data["entries"]]
        n = time_services.time_entries_bulk_create(by=request.user, specs=specs)
        return Response({"count": n}, status=status.HTTP_201_CREATED)

    @extend_schema(request=WeekSerializer, responses=SubmitResultSerializer)
    @action(detail=False, methods=["post"])
    def submit(self, request):
        """Submit the week; `warnings` lists days above the daily limit and a week above capacity (the week is
        submitted anyway, and the approver sees the same flags)."""
        data = WeekSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cid = _consultant_id(request, data.validated_data.get("consultant"))
        week = data.validated_data["week"]
        n = time_services.timesheet_submit(by=request.user, consultant_id=cid, week=week)
        return Response({"count": n, "warnings": week_warnings(consultant_id=cid, week=week)})


class ExpenseViewSet(
    UploadLimitMixin, DecisionActions, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet
):
    serializer_class = ExpenseSerializer
    allowed_roles = TIME_ROLES
    action_roles = {"approve": DECIDE_ROLES, "reject": DECIDE_ROLES}
    approve_service = expense_services.expenses_approve
    reject_service = expense_services.expenses_reject
    ids_keyword = "expense_ids"
    upload_limit = expense_services.RECEIPT_LIMIT

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Expense.objects.none()
        qs = expenses_for(self.request.user).order_by("-date", "-id")
        if self.request.query_params.get("status") in EntryStatus.values:
            qs = qs.filter(status=self.request.query_params["status"])
        return qs

    @extend_schema(request=ExpenseInputSerializer, responses={201: ExpenseSerializer})
    def create(self, request):
        data = ExpenseInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        expense = expense_services.expense_create(
            by=request.user,
            consultant_id=_consultant_id(request, v.get("consultant")),
            project_id=v["project"],
            day=v["date"],
            category=v["category"],
            amount=v["amount"],
            currency=v["currency"],
            billable=v["billable"],
            description=v["description"],
            receipt=v.get("receipt"),
        )
        return Response(self.get_serializer(expense).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, pk=None):
        expense_services.expense_delete(by=request.user, expense_id=self.get_object().pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=DecisionSerializer, responses=CountSerializer)
    @action(detail=False, methods=["post"])
    def submit(self, request):
        data = DecisionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cid = _consultant_id(request, None)
        n = expense_services.expenses_submit(by=request.user, consultant_id=cid, expense_ids=data.validated_data["ids"])
        return Response({"count": n})


class AllocationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    serializer_class = StaffAllocationSerializer
    allowed_roles = TIME_ROLES
    action_roles = {"create": DECIDE_ROLES}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Allocation.objects.none()
        return allocations_for(self.request.user).order_by("start_date", "id")

    def create(self, request):
        data = StaffAllocationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        allocation = staffing_services.allocation_create(
            by=request.user,
            project_id=v["project"].pk,
            consultant_id=v["consultant"].pk,
            hours_per_week=v["hours_per_week"],
            start_date=v["start_date"],
            end_date=v["end_date"],
            kind=v.get("kind", "soft"),
            resource_request_id=v["resource_request"].pk if v.get("resource_request") else None,
            confirm_overbooking=v.get("confirm_overbooking", False),
        )
        return Response(StaffAllocationSerializer(allocation).data, status=status.HTTP_201_CREATED)


class UtilizationViewSet(GenericViewSet):
    """Approved hours (billable / non-billable) against capacity, grouped by consultant, role or month.
    Consultants get their own figures only."""

    allowed_roles = TIME_ROLES
    pagination_class = None
    queryset = TimeEntry.objects.none()  # for the schema; the rows come from the utilization selector

    @extend_schema(
        parameters=[
            OpenApiParameter("start", OpenApiTypes.DATE, description="First day (default: the 1st of this month)."),
            OpenApiParameter("end", OpenApiTypes.DATE, description="Last day (default: today)."),
            OpenApiParameter("by", str, description="consultant, role or month (default consultant)."),
        ],
        responses={200: UtilizationSerializer},
    )
    def list(self, request):
        p = request.query_params
        start = parse_date(p["start"], field="start") if p.get("start") else date.today().replace(day=1)
        end = parse_date(p["end"], field="end") if p.get("end") else date.today()
        by = p.get("by", "consultant")
        if by not in ("consultant", "role", "month"):
            raise serializers.ValidationError({"by": ["One of: consultant, role, month."]})
        only = None
        if not has_role(request.user, Role.PROJECT_MANAGER, Role.FINANCE, Role.ADMIN):
            only = Consultant.objects.filter(user=request.user).values_list("pk", flat=True).first() or -1
        rows = utilization(start=start, end=end, by=by, consultant_id=only)
        body = {"start": start, "end": end, "by": by, "rows": [r.as_dict() for r in rows]}
        return Response(UtilizationSerializer(body).data)
