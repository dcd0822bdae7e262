"""Home panels: receivables for finance, the client's balance for a portal user. Fixed queries each."""

from django.urls import reverse

from billing.choices import InvoiceStatus
from billing.models import BillingRun, Invoice
from billing.selectors import ar_aging, portal_balance
from crm.selectors import account_for_client_user
from psa.core.roles import Role, has_role, is_client_only
from psa.core.ui import Figure, Panel


def _money(value) -> str:
    return f"{value:,.2f}"


def receivables(user) -> Panel | None:
    if not has_role(user, Role.FINANCE, Role.ADMIN):
        return None
    totals = ar_aging().totals
    drafts = Invoice.objects.filter(status=InvoiceStatus.DRAFT).count()
    running = BillingRun.objects.filter(status="running").count()
    return Panel(
        title="Receivables",
        figures=[
            Figure("Open", _money(totals["total"]), url=reverse("billing:ar")),
            Figure(
                "Overdue",
                _money(totals["overdue"]),
                url=reverse("billing:ar"),
                tone="danger" if totals["overdue"] else "",
            ),
            Figure("90+ days", _money(totals["d90"]), tone="danger" if totals["d90"] else ""),
            Figure(
                "Drafts to issue",
                drafts,
                url=reverse("billing:invoice-list") + "?status=draft",
                tone="warning" if drafts else "",
            ),
            Figure("Runs in progress", running, url=reverse("billing:run-list")),
        ],
        width=6,
        order=40,
    )


def client_balance(user) -> Panel | None:
    if not is_client_only(user):
        return None
    account = account_for_client_user(user)
    if account is None:
        return None
    b = portal_balance(account)
    return Panel(
        title="Your account",
        figures=[
            Figure("Balance", f"{_money(b['balance'])} {account.currency}", url=reverse("billing:portal")),
            Figure("Overdue", _money(b["overdue"]), tone="danger" if b["overdue"] else ""),
            Figure(
                "Invoices",
                Invoice.objects.filter(account=account, number__isnull=False).count(),
                url=reverse("billing:portal"),
            ),
        ],
        width=8,
        order=10,
    )


PROVIDERS = [receivables, client_balance]
