"""HTMX fragments billing owns on other apps' pages (the import graph stays one-way)."""

from django.shortcuts import get_object_or_404, render

from billing.selectors import account_ar, opportunity_invoiced
from billing.selectors.contract_lines import contract_line_billing
from crm.models import Account, Opportunity
from projects.models import Project
from psa.core.roles import RATE_ROLES, Role, role_required

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
    return render(request, "billing/fragments/project_billing.html", {"project": project, "lines": lines})
