"""The client portal: a client user sees its own account's issued documents and balance — nothing else.
Every lookup goes through `invoices_for(user)`, so another account's id is a 404; PDFs go through the checked
file view (psa/web/files.py), which uses the same selector."""

from decimal import Decimal

from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from billing.choices import DISPUTE_OPEN_STATUSES
from billing.filtersets import PortalInvoiceFilter
from billing.models import Dispute
from billing.selectors import invoices_for, portal_balance, statements_for
from billing.services.bank_transfer import transfer_details
from billing.services.documents import invoice_time_entries
from billing.services.statements import statement_create
from crm.selectors import account_for_client_user
from psa.core.files import file_url
from psa.core.listing import paginate_sorted
from psa.core.roles import Role, role_required

client_required = role_required(Role.CLIENT)
PORTAL_SORTS = {"number": "number", "issued": "issue_date", "due": "due_date", "total": "gross_total"}


def _account(request):
    account = account_for_client_user(request.user)
    if account is None:
        raise Http404("No account is linked to this login.")
    return account


@client_required
def portal_home(request):
    account = _account(request)
    f = PortalInvoiceFilter(request.GET, queryset=invoices_for(request.user).select_related("credited_invoice"))
    page_obj, sort = paginate_sorted(request, f.qs, sort_fields=PORTAL_SORTS, default_sort="-issued")
    return render(
        request,
        "billing/portal/list.html",
        {
            "account": account,
            "balance": portal_balance(account),
            "filter": f,
            "page_obj": page_obj,
            "sort": sort,
            "open_disputes": Dispute.objects.filter(account=account, status__in=DISPUTE_OPEN_STATUSES).count(),
            "statements": statements_for(request.user)[:5],
        },
    )


@client_required
def portal_invoice(request, pk: int):
    account = _account(request)
    invoice = get_object_or_404(invoices_for(request.user).select_related("credited_invoice"), pk=pk)
    entries = invoice_time_entries(invoice)
    return render(
        request,
        "billing/portal/detail.html",
        {
            "account": account,
            "invoice": invoice,
            "lines": invoice.lines.all(),
            "taxes": invoice.taxes.all(),
            "time_entries": entries,
            "time_hours": sum((e["hours"] for e in entries), Decimal("0")),
            # Pay by bank transfer: the open balance, the RF reference and, in euros to an IBAN, the EPC QR code.
            "transfer": transfer_details(invoice, amount=invoice.balance)
            if not invoice.is_credit_note and invoice.balance > 0
            else None,
        },
    )


@client_required
def portal_statement(request):
    """The client's own statement of account as of today, rendered now and downloaded through the checked
    file view (there is no account parameter: a client can only ever ask for its own)."""
    account = _account(request)
    statement = statement_create(account=account, as_of=timezone.localdate(), by=request.user)
    return redirect(file_url("account-statement", statement.pk))
