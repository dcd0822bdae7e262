"""Credit-hold actions on the account and opportunity pages (finance only; the services check the role too)."""

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from crm import services
from crm.services.credit import CREDIT_ROLES
from crm.views._common import flash_error
from psa.core.exceptions import DomainError
from psa.core.roles import role_required

finance = role_required(*CREDIT_ROLES)


def _act(request: HttpRequest, action: Callable[[], object], done: str, back: str, pk: int) -> HttpResponse:
    """Run `action`; flash `done`, or the refusal it raised; back to the page `back` of `pk` either way."""
    try:
        action()
        messages.success(request, done)
    except DomainError as exc:
        flash_error(request, exc)
    return redirect(back, pk=pk)


@finance
@require_POST
def hold_place(request, pk: int):
    return _act(
        request,
        lambda: services.credit_hold_place(account_id=pk, by=request.user, reason=request.POST.get("reason", "")),
        "The account is on credit hold: new deals need finance's release.",
        "crm:account",
        pk,
    )


@finance
@require_POST
def hold_release(request, pk: int):
    return _act(
        request,
        lambda: services.credit_hold_release(account_id=pk, by=request.user, note=request.POST.get("note", "")),
        "Credit hold lifted.",
        "crm:account",
        pk,
    )


@finance
@require_POST
def limit_set(request, pk: int):
    return _act(
        request,
        lambda: services.credit_limit_set(account_id=pk, by=request.user, limit=request.POST.get("credit_limit", "")),
        "Credit limit saved.",
        "crm:account",
        pk,
    )


@finance
@require_POST
def deal_approve(request, pk: int):
    return _act(
        request,
        lambda: services.credit_deal_approve(opportunity_id=pk, by=request.user, note=request.POST.get("note", "")),
        "Approved: this deal may be won despite the credit hold.",
        "crm:opportunity",
        pk,
    )
