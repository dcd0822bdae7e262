"""Retainage actions for finance on the project page's billing panel: set a contract line's retainage percent,
and release the retainage held on a contract when the client accepts the project (a draft release invoice)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect

from billing.services.retainage import retainage_release_create
from billing.views._common import finance_required, post_action
from projects.models import Contract, ContractLine
from projects.services.engagement import contract_line_retainage_set
from psa.core.dates import parse_date
from psa.core.exceptions import ValidationFailed


@finance_required
@post_action
def contract_line_retainage_view(request, line_id: int):
    line = get_object_or_404(ContractLine.objects.select_related("contract"), pk=line_id)
    line = contract_line_retainage_set(
        line_id=line.pk, percent=request.POST.get("retainage_percent", ""), by=request.user
    )
    messages.success(
        request, f"Retainage on “{line.description}” is now {line.retainage_percent}% of each invoice line."
    )
    return redirect("projects:project", pk=line.contract.project_id)


@finance_required
@post_action
def retainage_release_view(request, contract_id: int):
    contract = get_object_or_404(Contract, pk=contract_id)
    raw = request.POST.get("accepted_on", "").strip()
    if not raw:
        raise ValidationFailed("Enter the date the client accepted the project.", fields={"accepted_on": ["Required."]})
    accepted_on = parse_date(raw, field="accepted_on")
    draft = retainage_release_create(
        contract_id=contract.pk, by=request.user, accepted_on=accepted_on, note=request.POST.get("note", "")
    )
    messages.success(
        request, f"Draft release invoice for {draft.gross_total:,.2f} {draft.currency} made: check it and issue it."
    )
    return redirect("billing:invoice-detail", pk=draft.pk)
