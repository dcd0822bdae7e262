"""Home panels: receivables for finance, the client's balance for a portal user. Fixed queries each."""

from django.urls import reverse

from billing.choices import InvoiceStatus
from billing.models import BillingRun, Invoice
from billing.selectors import ar_aging, portal_balance
from crm.selectors import account_for_client_user
from psa.core.roles import Role, has_role, is_client_only
from psa.core.templatetags.psa_ui import amount_in
from psa.core.totals import CurrencyTotals
from psa.core.ui import Figure, Panel


def _money(value) -> str:
    return f"{value:,.2f}"


def _fx(totals: CurrencyTotals) -> str:
    """The functional total with its code; the per-currency figures when a rate is missing (never 1:1)."""
    if totals.total is not None:
        return amount_in(totals.total, totals.functional)
    return " · ".join(amount_in(line.amount, line.currency) for line in totals.lines)


def _fx_hint(totals: CurrencyTotals) -> str:
    if totals.missing:
        return totals.message
    if totals.converted:
        parts = " · ".join(amount_in(line.amount, line.currency) for line in totals.lines)
        return f"{parts} at {totals.rates_text}"
    return ""


def receivables(user) -> Panel | None:
    if not has_role(user, Role.FINANCE, Role.ADMIN):
        return None
    converted = ar_aging().converted
    drafts = Invoice.objects.filter(status=InvoiceStatus.DRAFT).count()
    running = BillingRun.objects.filter(status="running").count()
    return Panel(
        title="Receivables",
        figures=[
            Figure("Open", _fx(converted["total"]), url=reverse("billing:ar"), hint=_fx_hint(converted["total"])),
            Figure(
                "Overdue",
                _fx(converted["overdue"]),
                url=reverse("billing:ar"),
                tone="danger" if converted["overdue"].total != 0 else "",
            ),
            Figure("90+ days", _fx(converted["d90"]), tone="danger" if converted["d90"].total != 0 else ""),
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
