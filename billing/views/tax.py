"""The VAT return page (finance): a month's output tax by category and rate, reverse-charge and not-subject turnover
apart, reconciled to the tax-payable account."""

from django.contrib import messages
from django.shortcuts import render
from django.utils import timezone

from billing.selectors import vat_return, vat_return_month
from billing.views._common import finance_required
from psa.core.entities import entity_default
from psa.core.exceptions import ValidationFailed
from psa.core.models import LegalEntity


@finance_required
def vat_return_view(request):
    today = timezone.localdate()
    try:
        start, end = vat_return_month(request.GET.get("month"), today=today)
    except ValidationFailed as exc:
        messages.warning(request, f"{exc.message} Showing last month instead.")
        start, end = vat_return_month(None, today=today)
    entities = list(LegalEntity.objects.filter(is_active=True).order_by("pk"))
    raw = request.GET.get("entity", "")
    entity = next((e for e in entities if str(e.pk) == raw), None) or entity_default()
    if raw and str(entity.pk) != raw:
        messages.warning(request, f"No legal entity {raw}; showing {entity.code} instead.")
    context = {
        "vat": vat_return(start=start, end=end, entity_id=entity.pk),
        "month": start,
        "entity": entity,
        "entities": entities,
    }
    return render(request, "billing/vat_return.html", context)
