"""Disputes: finance's list and resolution page, opening one on an invoice (finance and the client portal), and
the client's own list in the portal. Every client lookup goes through `invoices_for` / `disputes_for`, so
another account's invoice or dispute is a 404."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from billing.filtersets import DisputeFilter
from billing.forms import (
    DisputeCreditForm,
    DisputeOpenForm,
    DisputeOwnerForm,
    DisputeRejectForm,
    DisputeWriteOffForm,
)
from billing.selectors import invoices_for
from billing.selectors.credit import disputes_for
from billing.services.disputes import (
    dispute_assign,
    dispute_open,
    dispute_reject,
    dispute_resolve_credit,
    dispute_resolve_write_off,
    line_gross,
)
from billing.views._common import finance_required, post_action
from billing.views.portal import _account, client_required
from psa.core.exceptions import DomainError
from psa.core.forms import form_apply_domain_error, form_errors_text
from psa.core.listing import paginate_sorted

DISPUTE_SORTS = {
    "opened": "opened_at",
    "client": "account__name",
    "invoice": "invoice__number",
    "amount": "amount",
    "status": "status",
}


@finance_required
def dispute_list(request):
    f = DisputeFilter(request.GET, queryset=disputes_for(request.user))
    page_obj, sort = paginate_sorted(request, f.qs, sort_fields=DISPUTE_SORTS, default_sort="-opened")
    return render(request, "billing/dispute_list.html", {"filter": f, "page_obj": page_obj, "sort": sort})


@finance_required
def dispute_detail(request, pk: int):
    dispute = get_object_or_404(
        disputes_for(request.user).select_related("opened_by", "resolved_by", "write_off"), pk=pk
    )
    context = {
        "dispute": dispute,
        "lines": dispute.lines.select_related("invoice_line"),
        "owner_form": DisputeOwnerForm(initial={"owner": dispute.owner_id}),
        "reject_form": DisputeRejectForm(),
        "credit_form": DisputeCreditForm(),
        "write_off_form": DisputeWriteOffForm(),
    }
    return render(request, "billing/dispute_detail.html", context)


def _open(request, invoice, template: str, done):
    form = DisputeOpenForm(request.POST or None, invoice=invoice)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            dispute = dispute_open(
                invoice_id=invoice.pk,
                by=request.user,
                reason=d["reason"],
                description=d["description"],
                amount=d["amount"],
                lines=dict.fromkeys((int(x) for x in d["lines"]), None) or None,
            )
        except DomainError as exc:
            form_apply_domain_error(form, exc)
        else:
            return done(dispute)
    lines = [(ln, line_gross(ln, invoice.currency)) for ln in invoice.lines.all()]
    status = 400 if form.errors else 200
    return render(request, template, {"invoice": invoice, "form": form, "lines": lines}, status=status)


@finance_required
def dispute_new(request, invoice_id: int):
    invoice = get_object_or_404(invoices_for(request.user), pk=invoice_id)

    def done(dispute):
        messages.success(request, f"Dispute opened on {invoice}: reminders leave out {dispute.amount:,.2f}.")
        return redirect("billing:dispute-detail", pk=dispute.pk)

    return _open(request, invoice, "billing/dispute_form.html", done)


def _action(request, pk: int, form_class, call):
    form = form_class(request.POST)
    if not form.is_valid():
        messages.error(request, form_errors_text(form))
    else:
        message = call(form.cleaned_data)
        messages.success(request, message)
    return redirect("billing:dispute-detail", pk=pk)


@finance_required
@post_action
def dispute_assign_view(request, pk: int):
    def call(d):
        dispute_assign(dispute_id=pk, by=request.user, owner_id=d["owner"].pk)
        return f"Assigned to {d['owner']}."

    return _action(request, pk, DisputeOwnerForm, call)


@finance_required
@post_action
def dispute_reject_view(request, pk: int):
    def call(d):
        dispute_reject(dispute_id=pk, by=request.user, reason=d["reason"])
        return "Dispute rejected: the amount is due again and reminders resume."

    return _action(request, pk, DisputeRejectForm, call)


@finance_required
@post_action
def dispute_credit_view(request, pk: int):
    def call(d):
        dispute = dispute_resolve_credit(dispute_id=pk, by=request.user, amount=d["amount"], note=d["note"])
        assert dispute.credit_note is not None  # resolved by it
        return f"Resolved by credit note {dispute.credit_note.number} ({dispute.credited:,.2f} with tax)."

    return _action(request, pk, DisputeCreditForm, call)


@finance_required
@post_action
def dispute_write_off_view(request, pk: int):
    def call(d):
        dispute_resolve_write_off(dispute_id=pk, by=request.user, note=d["note"])
        return "Write-off requested: another finance user approves it on the invoice page."

    return _action(request, pk, DisputeWriteOffForm, call)


# --- portal ---------------------------------------------------------------------------------------------
@client_required
def portal_dispute_new(request, pk: int):
    _account(request)
    invoice = get_object_or_404(invoices_for(request.user), pk=pk)

    def done(dispute):
        messages.success(
            request,
            f"Thank you: we have your dispute of {dispute.amount:,.2f} {dispute.currency} on {invoice} and will "
            "come back to you. No reminder will ask you for the disputed amount meanwhile.",
        )
        return redirect("billing:portal-disputes")

    return _open(request, invoice, "billing/portal/dispute_form.html", done)


@client_required
def portal_disputes(request):
    account = _account(request)
    qs = disputes_for(request.user)
    page_obj, sort = paginate_sorted(request, qs, sort_fields=DISPUTE_SORTS, default_sort="-opened")
    return render(request, "billing/portal/disputes.html", {"account": account, "page_obj": page_obj, "sort": sort})
