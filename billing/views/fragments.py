"""HTMX fragments billing owns on other apps' pages (the import graph stays one-way)."""

from django.shortcuts import get_object_or_404, render

from billing.selectors import account_ar, opportunity_invoiced
from billing.selectors.contract_lines import contract_line_billing
from billing.selectors.credit import account_credit, dispute_summary
from billing.selectors.retainage import contract_retainage_summary
from crm.models import Account, Opportunity
from projects.models import Contract, Project
from psa.core.roles import RATE_ROLES, Role, has_role, role_required

viewers = role_required(Role.SALES, Role.PROJECT_MANAGER, Role.FINANCE, Role.ADMIN)


finance = role_required(Role.FINANCE, Role.ADMIN)
MAX_BADGES = 100  # a list page shows at most this many rows


@viewers
def account_ar_panel(request, account_id: int):
    """The receivables and credit standing of an account (its page, and its deals' pages)."""
    account = get_object_or_404(Account, pk=account_id)
    context = {"account": account, "ar": account_ar(account), "credit": account_credit([account.pk])[account.pk]}
    return render(request, "billing/fragments/account_ar.html", context)


@viewers
def account_badges(request):
    """The credit badges of a CRM list page: `?ids=1,2,3` -> one out-of-band span per account (one request for
    the page, a fixed number of queries)."""
    raw = request.GET.get("ids", "")
    ids = sorted({int(x) for x in raw.split(",") if x.strip().isdigit()})[:MAX_BADGES]
    figures = account_credit(ids)
    return render(request, "billing/fragments/account_badges.html", {"figures": figures.values()})


@finance
def dispute_summary_panel(request):
    """The dashboard's dispute card: ageing of open disputes and the disputed share of AR."""
    return render(request, "billing/fragments/dispute_summary.html", {"summary": dispute_summary()})


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
