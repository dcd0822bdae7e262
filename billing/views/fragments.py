"""HTMX fragments billing owns on other apps' pages (the import graph stays one-way)."""

from django.shortcuts import get_object_or_404, render

from billing.selectors import account_ar, opportunity_invoiced
from crm.models import Account, Opportunity
from psa.core.roles import Role, role_required

viewers = role_required(Role.SALES, Role.PROJECT_MANAGER, Role.FINANCE, Role.ADMIN)


@viewers
def account_ar_panel(request, account_id: int):
    account = get_object_or_404(Account, pk=account_id)
    return render(request, "billing/fragments/account_ar.html", {"account": account, "ar": account_ar(account)})


@viewers
def opportunity_invoiced_panel(request, opportunity_id: int):
    opportunity = get_object_or_404(Opportunity, pk=opportunity_id)
    return render(
        request,
        "billing/fragments/opportunity_invoiced.html",
        {"opportunity": opportunity, "data": opportunity_invoiced(opportunity)},
    )
