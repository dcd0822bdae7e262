"""Project margin pages (ledger.selectors.margin, one definition): the margin report for finance, and the panels
other apps' pages load as HTMX fragments: the project page's and the account page's (finance and admin: they show
cost), and the opportunity page's, where sales sees the realised margin % and effective rate of past projects
(percentages and rates only, never cost amounts; DESIGN.md invariant 10)."""

from datetime import date

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from crm.models import Account
from crm.selectors import opportunities_for
from ledger.forms import ALL_ENTITIES
from ledger.selectors.margin import (
    REALISED_WINDOW_MONTHS,
    margin_report,
    project_margin,
    realised_margins,
    realised_window,
)
from ledger.views.journal import LEDGER_ROLES
from ledger.views.reports import _csv, _money
from ledger.views.revenue import _range
from projects.models import Project
from psa.core.currency import functional_currency
from psa.core.roles import COST_ROLES, Role, role_required

PAGE_SIZE = 50
ACCOUNT_PANEL_ROWS = 20
# Who sees the realised margin % and rate on the opportunity page: whoever may open the deal.
REALISED_ROLES = (Role.SALES, Role.PROJECT_MANAGER, Role.FINANCE, Role.ADMIN)


def _text(value) -> str:
    return "" if value is None else str(value)


@role_required(*LEDGER_ROLES)
def margin_view(request):
    """The margin report: per project over the dates, for a client and of one entity or all (intercompany
    eliminated), with its reconciliation to the P&L by project; `?format=csv` for the whole list."""
    form, start, end, extra = _range(request)
    entity, client = extra.get("entity"), extra.get("client")
    report = margin_report(
        start=start, end=end, client_id=client.pk if client else None, entity_id=entity.pk if entity else None
    )
    if request.GET.get("format") == "csv":
        return _csv(
            f"project-margin-{entity.code if entity else 'all'}-{start}-{end}",
            ["project", "client", "revenue", "cost", "margin", "margin_pct", "approved_hours", "effective_rate",
             "cost_not_yet_posted"],
            [[r.project, r.client, _money(r.revenue), _money(r.cost), _money(r.margin), _text(r.margin_pct),
              _text(r.hours), _text(r.effective_rate), "" if r.unposted is None else _money(r.unposted)]
             for r in report.rows],
        )  # fmt: skip
    context = {
        "form": form,
        "report": report,
        "page_obj": Paginator(report.rows, PAGE_SIZE).get_page(request.GET.get("page")),
        "functional": functional_currency(),
        "books_of": f"{entity.code} {entity.name}" if entity else f"{ALL_ENTITIES} (intercompany eliminated)",
    }
    return render(request, "ledger/margin.html", context)


@role_required(*COST_ROLES)
def project_margin_panel(request, pk: int):
    """The project page's margin panel (HTMX), to date, all entities: the margin report's row for the project."""
    project = get_object_or_404(Project.objects.only("pk", "code", "account_id"), pk=pk)
    today = timezone.localdate()
    figures = project_margin(project_id=project.pk, start=date.min, end=today)
    context = {"project": project, "m": figures, "through": today, "functional": functional_currency()}
    return render(request, "ledger/_project_margin.html", context)


@role_required(*COST_ROLES)
def account_margin_panel(request, pk: int):
    """The account page's margin panel (HTMX): the margin report for the account's projects, to date, all
    entities; the largest by revenue first, the rest on the report (linked)."""
    account = get_object_or_404(Account.objects.only("pk", "name"), pk=pk)
    today = timezone.localdate()
    report = margin_report(start=date.min, end=today, client_id=account.pk, reconcile=False)
    rows = sorted(report.rows, key=lambda r: (-r.revenue, r.project))
    context = {
        "account": account,
        "report": report,
        "rows": rows[:ACCOUNT_PANEL_ROWS],
        "more": max(0, len(rows) - ACCOUNT_PANEL_ROWS),
        "through": today,
        "functional": functional_currency(),
    }
    return render(request, "ledger/_account_margin.html", context)


@role_required(*REALISED_ROLES)
def opportunity_margin_panel(request, pk: int):
    """The opportunity page's panel (HTMX): for the deal's account and for its service type, the number of
    projects delivered in the last REALISED_WINDOW_MONTHS months, their realised margin % and effective rate."""
    opp = get_object_or_404(opportunities_for(request.user).select_related("account"), pk=pk)
    today = timezone.localdate()
    start = realised_window(today)
    account, kind = realised_margins(account_id=opp.account_id, service_type=opp.service_type, start=start, end=today)
    context = {
        "opp": opp,
        "groups": [(f"{opp.account.name}", account), (opp.get_service_type_display() or "", kind)],
        "has_service_type": bool(opp.service_type),
        "start": start,
        "through": today,
        "months": REALISED_WINDOW_MONTHS,
        "functional": functional_currency(),
    }
    return render(request, "ledger/_opportunity_margin.html", context)
