"""The invoice page's document actions: a draft's PDF preview and "Send to client"."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect

from billing.choices import InvoiceStatus
from billing.selectors import invoices_for
from billing.services.delivery import invoice_preview_pdf, invoice_send
from billing.views._common import finance_required, post_action


@finance_required
def invoice_preview(request, pk: int):
    """A draft as its PDF would look, marked DRAFT; looked up in the same scope as the invoice page, and sent
    like a stored file (private, never cached, inline, no sniffing)."""
    invoice = get_object_or_404(invoices_for(request.user).filter(status=InvoiceStatus.DRAFT), pk=pk)
    response = HttpResponse(invoice_preview_pdf(invoice), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="draft-{invoice.pk}.pdf"'
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    return response


@finance_required
@post_action
def invoice_send_view(request, pk: int):
    invoice = get_object_or_404(invoices_for(request.user), pk=pk)
    delivery = invoice_send(invoice_id=invoice.pk, by=request.user, key=request.POST.get("key", ""))
    messages.success(request, f"{invoice.number} is on its way to {delivery.to}.")
    return redirect("billing:invoice-detail", pk=pk)
