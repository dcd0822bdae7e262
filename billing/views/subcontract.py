"""The subcontractor hours match page (finance): approved hours of each vendor's people against the hours its
posted bills charge, per vendor, consultant and month (billing.selectors.subcontract_match)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from billing.selectors.subcontract_match import match_months, match_vendor, subcontract_match
from billing.views._common import finance_required
from crm.models import Vendor
from psa.core.exceptions import ValidationFailed


@finance_required
def subcontract_match_view(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    errors: dict[str, list[str]] = {}
    try:
        start, end = match_months(request.GET.get("from"), request.GET.get("to"), today=today)
    except ValidationFailed as exc:
        errors.update(exc.fields or {})
        messages.warning(request, f"{exc.message} Showing the last three months instead.")
        start, end = match_months(None, None, today=today)
    try:
        vendor_id = match_vendor(request.GET.get("vendor"))
    except ValidationFailed as exc:
        errors.update(exc.fields or {})
        messages.warning(request, f"{exc.message} Showing every vendor.")
        vendor_id = None
    rows = subcontract_match(start=start, end=end, vendor_id=vendor_id)
    context = {
        "page_obj": Paginator(rows, 50).get_page(request.GET.get("page")),
        "start": start,
        "end": end,
        "vendor_id": vendor_id,
        "vendors": Vendor.objects.filter(is_subcontractor=True).order_by("name").only("pk", "name"),
        "errors": errors,
    }
    return render(request, "billing/subcontract_match.html", context)
