"""The exception queue page: every rule's open items with the link that fixes them, dismiss/snooze forms."""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from psa.conf import settings_value
from psa.core.dates import DateFormField
from psa.core.exceptions import DomainError
from psa.core.pagecache import wrote_recently
from psa.core.roles import HasRole, Role, role_required
from psa.web.exception_queue import RULES, SUMMARY_RULES, exception_scan
from psa.web.services import exception_dismiss, exception_restore

QUEUE_ROLES = (Role.FINANCE, Role.ADMIN)
# A page of items, each with its dismiss form: a firm's ~1,100 open items on one page made a 1.7 MB page.
PAGE_SIZE = 50


class QueueFilter(forms.Form):
    rule = forms.ChoiceField(
        required=False,
        label="Rule",
        choices=[("", "All rules"), *RULES.items()],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )


class DismissForm(forms.Form):
    rule = forms.ChoiceField(choices=list(RULES.items()), widget=forms.HiddenInput)
    item_key = forms.CharField(max_length=100, widget=forms.HiddenInput)
    reason = forms.CharField(max_length=300, widget=forms.TextInput(attrs={"class": "form-control form-control-sm"}))
    until = DateFormField(
        required=False,
        label="Snooze until",
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}),
        help_text="Empty: dismiss until the item's facts change.",
    )


@role_required(*QUEUE_ROLES)
def exception_queue(request):
    """The open items, a page at a time in rule order, optionally for one rule (only that rule's queries run).
    Every rule keeps its section with its total, so an empty or off-page rule still reads as such."""
    queue_filter = QueueFilter(request.GET)
    rule = queue_filter.cleaned_data["rule"] if queue_filter.is_valid() else ""
    names = [rule] if rule else list(RULES)
    scan = exception_scan(rules=names, shared=True, fresh=wrote_recently(request))
    items = [item for name in names for item in scan.open[name]]
    page_obj = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    on_page: dict[str, list] = {name: [] for name in names}
    for item in page_obj:
        on_page[item.rule].append(item)
    groups = [
        {"rule": name, "label": RULES[name], "items": on_page[name], "count": len(scan.open[name])} for name in names
    ]
    return render(
        request,
        "web/exception_queue/queue.html",
        {
            "groups": groups,
            "scan": scan,
            "hidden": scan.hidden,
            "filter": queue_filter,
            "page_obj": page_obj,
            "reads_summary": bool(SUMMARY_RULES.intersection(names)),
            "cache_seconds": settings_value("PSA_PAGE_CACHE_SECONDS"),
        },
    )


@require_POST
@role_required(*QUEUE_ROLES)
def exception_dismiss_view(request):
    form = DismissForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
        messages.error(request, f"Not dismissed: {errors}")
        return redirect("exceptions")
    try:
        d = exception_dismiss(by=request.user, **form.cleaned_data)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{d.get_action_display()}: {d.reason}")
    return redirect("exceptions")


@require_POST
@role_required(*QUEUE_ROLES)
def exception_restore_view(request):
    try:
        exception_restore(by=request.user, rule=request.POST.get("rule", ""), item_key=request.POST.get("item_key", ""))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.info(request, "The item is back in the queue.")
    return redirect("exceptions")


class ExceptionQueueAPI(APIView):
    """GET /api/v1/exceptions/: the open items per rule (dismissed and snoozed ones are left out)."""

    permission_classes = [HasRole]
    allowed_roles = QUEUE_ROLES

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        scan = exception_scan()
        return Response(
            {
                "total": scan.total,
                "rules": [
                    {
                        "rule": name,
                        "label": label,
                        "items": [
                            {
                                "key": i.key,
                                "title": i.title,
                                "detail": i.detail,
                                "url": i.url,
                                "on": i.on,
                                "amount": None if i.amount is None else str(i.amount),
                                "currency": i.currency or None,
                            }
                            for i in scan.open[name]
                        ],
                    }
                    for name, label in RULES.items()
                ],
            }
        )
