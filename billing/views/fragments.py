"""HTMX fragments billing owns on other apps' pages (the import graph stays one-way)."""

from django.shortcuts import get_object_or_404, render

from billing.selectors import account_ar, opportunity_invoiced
from billing.selectors.contract_lines import contract_line_billing
from billing.selectors.retainage import contract_retainage_summary
from crm.models import Account, Opportunity
from projects.models import Contract, Project
from psa.core.roles import RATE_ROLES, Role, has_role, role_required

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


@role_required(*RATE_ROLES)
def project_billing_panel(request, project_id: int):
    """Billed and recognised per contract line on the project page (prices: the roles that see rates)."""
    project = get_object_or_404(Project.objects.only("pk", "code"), pk=project_id)
    lines = contract_line_billing(project_id=project.pk)
    # Retainage per contract that holds any back (finance may release it on acceptance).
    retainage = [
        {"contract": contract, **contract_retainage_summary(contract_id=contract.pk)}
        for contract in Contract.objects.filter(pk__in={ln.contract_id for ln in lines if ln.retainage_percent})
        .only("pk", "number", "currency")
        .order_by("pk")
    ]
    return render(
        request,
        "billing/fragments/project_billing.html",
        {
            "project": project,
            "lines": lines,
            "retainage": retainage,
            "is_finance": has_role(request.user, Role.FINANCE, Role.ADMIN),
        },
    )
