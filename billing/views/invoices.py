from urllib.parse import urlencode, urlsplit
from uuid import uuid4

from django.contrib import messages
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render

from billing.choices import WriteOffStatus
from billing.filtersets import InvoiceFilter
from billing.forms import CreditNoteForm, WriteOffForm
from billing.models import Invoice, InvoiceLine, WriteOff
from billing.selectors import explain_line
from billing.selectors import invoice_list as invoices_visible
from billing.selectors.vendor_costs import vendor_costs_by_line
from billing.services import (
    credit_note_create,
    invoice_cancel,
    invoice_issue,
    invoice_render,
    invoices_issue,
    write_off_approve,
    write_off_reject,
    write_off_request,
)
from billing.services.delivery import invoice_billing_email
from billing.views._common import finance_required, post_action
from ledger.views.journal import LEDGER_ROLES
from psa.core.exceptions import ConflictError, DomainError, ValidationFailed
from psa.core.forms import form_apply_domain_error
from psa.core.listing import paginate_sorted
from psa.core.redirects import safe_next
from psa.core.roles import has_role

INVOICE_SORTS = {
    "number": "number",
    "client": "buyer_name",
    "issued": "issue_date",
    "due": "due_date",
    "total": "gross_total",
    "status": "status",
    "created": "created_at",
}


@finance_required
def invoice_list(request):
    f = InvoiceFilter(request.GET, queryset=invoices_visible(request.user))
    page_obj, sort = paginate_sorted(request, f.qs, sort_fields=INVOICE_SORTS, default_sort="-created")
    return render(request, "billing/invoice_list.html", {"filter": f, "page_obj": page_obj, "sort": sort})


@finance_required
@post_action
def invoice_bulk_issue(request):
    ids = [int(x) for x in request.POST.getlist("invoice") if x.isdigit()]
    if not ids:
        messages.warning(request, "Tick the drafts to issue.")
        return redirect(safe_next(request, "billing:invoice-list"))
    issued = invoices_issue(invoice_ids=ids, by=request.user)
    messages.success(request, f"Issued {len(issued)}: {', '.join(i.number for i in issued)}.")
    # Back to the same list, without a "drafts only" filter that would now hide what was just issued.
    target = urlsplit(safe_next(request, "billing:invoice-list"))
    params = QueryDict(target.query, mutable=True)
    if params.get("status") == "draft":
        params.pop("status")
    return redirect(f"{target.path}?{urlencode(params, doseq=True)}" if params else target.path)


@finance_required
def invoice_detail(request, pk: int):
    return _detail(request, pk)


def _detail(request, pk: int, *, write_off_form: WriteOffForm | None = None, status: int = 200):
    """The invoice page; `write_off_form` bound and refused, shown with its errors and what was typed."""
    invoice = get_object_or_404(
        Invoice.objects.select_related(
            "account", "contract", "project", "credited_invoice", "run", "journal_entry", "entity"
        ),
        pk=pk,
    )
    lines = list(invoice.lines.select_related("tax_category", "contract_line").prefetch_related("sources"))
    disputes = list(invoice.disputes.all())
    context = {
        "invoice": invoice,
        "lines": lines,
        # a line that re-bills vendor costs shows the vendor, its bill and the amount
        "vendor_costs": vendor_costs_by_line([line.pk for line in lines]),
        "taxes": invoice.taxes.all(),
        "allocations": invoice.allocations.select_related("payment", "credit_note"),
        "applications": invoice.applications.select_related("invoice"),
        "credit_notes": invoice.credit_notes.all(),
        "history": invoice.history.select_related("by"),
        "write_offs": invoice.write_offs.select_related("requested_by", "decided_by"),
        "credit_form": CreditNoteForm(invoice=invoice),
        "write_off_form": write_off_form or WriteOffForm(),
        "pending_write_off": invoice.write_offs.filter(status=WriteOffStatus.REQUESTED).first(),
        "disputes": disputes,
        "open_dispute": next((d for d in disputes if d.is_open), None),
        "deliveries": list(invoice.deliveries.select_related("sent_by")),
        # one key per page load: a double click on "Send to client" is one send (billing.services.delivery)
        "send_key": uuid4().hex,
        "send_to": invoice_billing_email(invoice),
        "can_see_ledger": has_role(request.user, *LEDGER_ROLES),
    }
    return render(request, "billing/invoice_detail.html", context, status=status)


@finance_required
def line_explain(request, pk: int, line_id: int):
    line = get_object_or_404(
        InvoiceLine.objects.select_related("invoice", "tax_category", "credited_line__invoice"),
        pk=line_id,
        invoice_id=pk,
    )
    context = explain_line(line) | {"vendor_costs": vendor_costs_by_line([line.pk]).get(line.pk, [])}
    return render(request, "billing/_explain.html", context)


@finance_required
@post_action
def invoice_issue_view(request, pk: int):
    invoice = invoice_issue(invoice_id=pk, by=request.user)
    messages.success(request, f"{invoice.number} issued and posted; the PDF is being rendered and e-mailed.")
    return redirect("billing:invoice-detail", pk=pk)


@finance_required
@post_action
def invoice_cancel_view(request, pk: int):
    invoice_cancel(invoice_id=pk, by=request.user)
    messages.success(request, "Draft discarded; its sources are free for the next run.")
    return redirect("billing:invoice-detail", pk=pk)


@finance_required
def invoice_credit(request, pk: int):
    invoice = get_object_or_404(Invoice, pk=pk)
    form = CreditNoteForm(request.POST or None, invoice=invoice)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            note = credit_note_create(
                invoice_id=pk,
                by=request.user,
                line_ids=[int(x) for x in d["lines"]] or None,
                amount=d["amount"],
                reason=d["reason"],
            )
        except DomainError as exc:
            form_apply_domain_error(form, exc)
        else:
            messages.success(request, "Draft credit note created: review and issue it.")
            return redirect("billing:invoice-detail", pk=note.pk)
    return render(request, "billing/credit_form.html", {"invoice": invoice, "form": form})


@finance_required
@post_action
def write_off_request_view(request, pk: int):
    """Request a write-off; a refusal (no reason, more than is open) shows the invoice page again with the form as
    typed and each error under its field."""
    form = WriteOffForm(request.POST)
    if form.is_valid():
        try:
            write_off_request(
                invoice_id=pk, by=request.user, reason=form.cleaned_data["reason"], amount=form.cleaned_data["amount"]
            )
        except (ValidationFailed, ConflictError) as exc:
            form_apply_domain_error(form, exc)
    if form.errors:
        return _detail(request, pk, write_off_form=form, status=400)
    messages.success(request, "Write-off requested; another finance user approves it.")
    return redirect("billing:invoice-detail", pk=pk)


@finance_required
@post_action
def write_off_decide(request, pk: int, write_off_id: int):
    write_off = get_object_or_404(WriteOff, pk=write_off_id, invoice_id=pk)
    if request.POST.get("decision") == "approve":
        write_off_approve(write_off_id=write_off.pk, by=request.user)
        messages.success(request, "Write-off approved and posted.")
    else:
        write_off_reject(write_off_id=write_off.pk, by=request.user)
        messages.info(request, "Write-off rejected.")
    return redirect("billing:invoice-detail", pk=pk)


@finance_required
@post_action
def invoice_render_view(request, pk: int):
    """Render again after an e-invoice validation failure (once its cause is fixed); a rendered one stays."""
    invoice = invoice_render(invoice_id=get_object_or_404(Invoice, pk=pk, number__isnull=False).pk)
    assert invoice is not None  # it has a number
    if invoice.einvoice_error:
        messages.error(request, f"Still not rendered: {invoice.einvoice_error}")
    else:
        messages.success(request, f"{invoice.number} is rendered; its PDF and e-invoice are stored.")
    return redirect("billing:invoice-detail", pk=pk)
