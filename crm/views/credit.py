"""Credit-hold actions on the account and opportunity pages (finance only; the services check the role too)."""

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from crm import services
from crm.services.credit import CREDIT_ROLES
from crm.views._common import flash_error
from psa.core.exceptions import DomainError
from psa.core.roles import role_required

finance = role_required(*CREDIT_ROLES)


@finance
@require_POST
def hold_place(request, pk: int):
    try:
        services.credit_hold_place(account_id=pk, by=request.user, reason=request.POST.get("reason", ""))
        messages.success(request, "The account is on credit hold: new deals need finance's release.")
    except DomainError as exc:
        flash_error(request, exc)
    return redirect("crm:account", pk=pk)


@finance
@require_POST
def hold_release(request, pk: int):
    try:
        services.credit_hold_release(account_id=pk, by=request.user, note=request.POST.get("note", ""))
        messages.success(request, "Credit hold lifted.")
    except DomainError as exc:
        flash_error(request, exc)
    return redirect("crm:account", pk=pk)


@finance
@require_POST
def limit_set(request, pk: int):
    try:
        services.credit_limit_set(account_id=pk, by=request.user, limit=request.POST.get("credit_limit", ""))
        messages.success(request, "Credit limit saved.")
    except DomainError as exc:
        flash_error(request, exc)
    return redirect("crm:account", pk=pk)


@finance
@require_POST
def deal_approve(request, pk: int):
    try:
        services.credit_deal_approve(opportunity_id=pk, by=request.user, note=request.POST.get("note", ""))
        messages.success(request, "Approved: this deal may be won despite the credit hold.")
    except DomainError as exc:
        flash_error(request, exc)
    return redirect("crm:opportunity", pk=pk)
