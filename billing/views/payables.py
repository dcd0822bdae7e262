"""Accounts payable pages: vendor bills (list with filters, entry form with lines, bill page with its approvals,
journal entry and PDF, actions by role), the approval queue ("bills waiting for me"), AP aging with the AP control,
and the vendor's bills panel that the crm vendor page loads (crm may not import billing).

Finance and administrators see and do everything; a project manager sees the bills on their projects, approves
or rejects them; everyone else gets 403, and a bill outside the user's scope is a 404.
"""

from functools import wraps

from django.contrib import messages
from django.db.models import Count, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from billing.choices import VENDOR_BILL_OPEN_STATUSES, VendorBillStatus
from billing.filtersets import VendorBillFilter
from billing.forms import BillPdfForm, RejectForm, VendorBillForm, VendorBillLineFormSet
from billing.models import VendorBill
from billing.selectors.payables import OPEN, ap_aging, ap_control, bills_for, bills_waiting_for
from billing.services.payables import (
    bill_approve_as,
    bill_attach_pdf,
    bill_create,
    bill_reject,
    bill_submit,
    bill_update,
    project_approvals,
)
from billing.services.payables.bills import LINE_FIELDS
from psa.core.currency import functional_currency
from psa.core.dates import date_param
from psa.core.entities import entity_default
from psa.core.exceptions import DomainError
from psa.core.forms import form_apply_domain_error
from psa.core.fx import MissingRate
from psa.core.listing import paginate_sorted
from psa.core.models import LegalEntity
from psa.core.roles import Role, has_role, role_required

FINANCE = (Role.FINANCE, Role.ADMIN)
READERS = (Role.FINANCE, Role.ADMIN, Role.PROJECT_MANAGER)
SORT_FIELDS = {"date": "bill_date", "due": "due_date", "vendor": "vendor__name", "gross": "gross_total"}
FORM_FIELD = {"project_id": "project", "contract_line_id": "contract_line", "consultant_id": "consultant",
              "ledger_account_id": "ledger_account", "tax_amount": "tax_rate"}  # fmt: skip


@role_required(*READERS)
def bill_list(request):
    queryset = bills_for(request.user).select_related("vendor", "entity")
    filterset = VendorBillFilter(request.GET or None, queryset=queryset)
    queryset = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
    page_obj, _sort = paginate_sorted(request, queryset, sort_fields=SORT_FIELDS, default_sort="-date")
    return render(
        request,
        "billing/payables/bill_list.html",
        {"filter": filterset, "page_obj": page_obj, "can_enter": has_role(request.user, *FINANCE)},
    )


@role_required(*READERS)
def bill_queue(request):
    bills = bills_waiting_for(request.user).select_related("vendor", "entity").order_by("due_date", "pk")[:200]
    return render(request, "billing/payables/queue.html", {"bills": bills})


def _apply_line_errors(form, formset, exc: DomainError) -> None:
    """Put a service refusal where it belongs: `lines.<i>.<field>` on line i's field, the rest on the header."""
    header = {}
    for name, msgs in exc.fields.items():
        parts = name.split(".", 2)
        if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit():
            index, field = int(parts[1]), parts[2]
            if index < len(formset.forms):
                target = FORM_FIELD.get(field, field)
                for message in msgs:
                    formset.forms[index].add_error(target if target in formset.forms[index].fields else None, message)
                continue
        header[FORM_FIELD.get(name, name).removesuffix("_id")] = msgs
    if header or not exc.fields:
        form_apply_domain_error(form, type(exc)(exc.message, fields=header))


def _header(form) -> dict:
    d = form.cleaned_data
    header = {
        "number": d["number"],
        "bill_date": d["bill_date"],
        "po_number": d["po_number"],
        "notes": d["notes"],
        "purchase_tax": d["purchase_tax"] or None,
        "purchase_tax_reason": d["purchase_tax_reason"] or None,
    }
    if d.get("due_date"):
        header["due_date"] = d["due_date"]
    if d.get("currency"):
        header["currency"] = d["currency"].upper()
    if d.get("entity"):
        header["entity_id"] = d["entity"].pk
    return header


def _formset(request, initial=None):
    data = request.POST.copy() if request.method == "POST" else None
    if data is not None and "add_line" in data:
        total = int(data.get("lines-TOTAL_FORMS") or 0)
        data["lines-TOTAL_FORMS"] = str(total + 1)
    return VendorBillLineFormSet(data, prefix="lines", initial=initial)


def _save(request, form, formset, bill: VendorBill | None):
    if request.method != "POST" or "add_line" in request.POST:
        return None
    if not (form.is_valid() and formset.is_valid()):
        return None
    lines = [f.as_service_line() for f in formset.forms if f.has_changed() or not f.empty_permitted]
    try:
        if bill is None:
            header = _header(form)
            return bill_create(by=request.user, vendor_id=form.cleaned_data["vendor"].pk, lines=lines, **header)
        return bill_update(bill_id=bill.pk, by=request.user, lines=lines, **_header(form))
    except DomainError as exc:
        _apply_line_errors(form, formset, exc)
        return None


@role_required(*FINANCE)
def bill_new(request):
    form = VendorBillForm(request.POST or None, initial={"vendor": request.GET.get("vendor")})
    formset = _formset(request)
    bill = _save(request, form, formset, None)
    if bill:
        messages.success(request, f"Entered bill {bill.number} as a draft.")
        return redirect("billing:vendor-bill", pk=bill.pk)
    status = 400 if form.errors or any(f.errors for f in formset.forms) or formset.non_form_errors() else 200
    context = {"form": form, "formset": formset, "title": "Enter a vendor bill"}
    return render(request, "billing/payables/bill_form.html", context, status=status)


@role_required(*FINANCE)
def bill_edit(request, pk: int):
    bill = get_object_or_404(VendorBill.objects.select_related("vendor"), pk=pk)
    if bill.status not in (VendorBillStatus.DRAFT, VendorBillStatus.REJECTED):
        messages.error(request, "Only a draft or rejected bill can be corrected.")
        return redirect("billing:vendor-bill", pk=pk)
    initial_header = {
        "vendor": bill.vendor_id, "entity": bill.entity_id, "number": bill.number, "po_number": bill.po_number,
        "bill_date": bill.bill_date, "due_date": bill.due_date, "currency": bill.currency, "notes": bill.notes,
        "purchase_tax": bill.purchase_tax if bill.purchase_tax_reason else "",
        "purchase_tax_reason": bill.purchase_tax_reason,
    }  # fmt: skip
    initial_lines = [
        {FORM_FIELD.get(f, f).removesuffix("_id"): getattr(ln, f) for f in LINE_FIELDS if f != "tax_amount"}
        for ln in bill.lines.all()
    ]
    form = VendorBillForm(request.POST or None, initial=initial_header)
    form.fields["vendor"].disabled = True  # a bill from another vendor is another bill
    formset = _formset(request, initial=initial_lines)
    saved = _save(request, form, formset, bill)
    if saved:
        messages.success(request, "Saved.")
        return redirect("billing:vendor-bill", pk=pk)
    status = 400 if form.errors or any(f.errors for f in formset.forms) else 200
    context = {"form": form, "formset": formset, "title": f"Correct bill {bill.number}", "bill": bill}
    return render(request, "billing/payables/bill_form.html", context, status=status)


@role_required(*READERS)
def bill_detail(request, pk: int):
    bill = get_object_or_404(
        bills_for(request.user).select_related(
            "vendor", "entity", "journal_entry", "submitted_by", "pm_approved_by", "approved_by", "rejected_by"
        ),
        pk=pk,
    )
    lines = bill.lines.select_related("project", "contract_line", "consultant__user", "ledger_account")
    try:
        approvals, rate_missing = project_approvals(bill), ""
    except MissingRate as exc:
        approvals, rate_missing = [], exc.message
    user = request.user
    is_finance = has_role(user, *FINANCE)
    waiting = bill.status == VendorBillStatus.AWAITING_APPROVAL
    return render(
        request,
        "billing/payables/bill_detail.html",
        {
            "bill": bill,
            "lines": lines,
            "approvals": approvals,
            "rate_missing": rate_missing,
            "is_finance": is_finance,
            "can_edit": is_finance and bill.status in (VendorBillStatus.DRAFT, VendorBillStatus.REJECTED),
            "can_submit": is_finance and bill.status == VendorBillStatus.DRAFT,
            "can_approve": waiting
            and (is_finance or any(a.pending and a.project.project_manager_id == user.pk for a in approvals)),
            "can_reject": waiting,
            "reject_form": RejectForm(),
            "pdf_form": BillPdfForm(),
        },
    )


def _bill_action(view):
    """A POST on a bill the user may see: a service refusal becomes a message on the bill's page."""

    @wraps(view)
    def wrapped(request, pk: int):
        if request.method != "POST":
            return redirect("billing:vendor-bill", pk=pk)
        get_object_or_404(bills_for(request.user), pk=pk)
        try:
            view(request, pk)
        except DomainError as exc:
            details = "; ".join(m for msgs in exc.fields.values() for m in msgs)
            messages.error(
                request, f"{exc.message} {details}" if details and details not in exc.message else exc.message
            )
        return redirect("billing:vendor-bill", pk=pk)

    return role_required(*READERS)(wrapped)


@_bill_action
def bill_submit_view(request, pk: int):
    bill_submit(bill_id=pk, by=request.user)
    messages.success(request, "Sent for approval.")


@_bill_action
def bill_approve_view(request, pk: int):
    bill = bill_approve_as(bill_id=pk, by=request.user)
    messages.success(request, "Posted." if bill.status == VendorBillStatus.POSTED else "Approved for your projects.")


@_bill_action
def bill_reject_view(request, pk: int):
    form = RejectForm(request.POST)
    bill_reject(bill_id=pk, by=request.user, reason=form.data.get("reason", ""))
    messages.success(request, "Rejected: the bill goes back to finance with your reason.")


@_bill_action
def bill_pdf_view(request, pk: int):
    upload = request.FILES.get("pdf")
    if upload is None:
        messages.error(request, "Choose the PDF to attach.")
        return
    bill_attach_pdf(bill_id=pk, by=request.user, pdf=upload)
    messages.success(request, "Attached the PDF.")


@role_required(*FINANCE)
def ap_aging_view(request):
    entities = list(LegalEntity.objects.order_by("code"))
    raw = request.GET.get("entity", "")
    entity = next((e for e in entities if str(e.pk) == raw), None) or entity_default()
    as_of = date_param(request, "as_of", default=timezone.localdate())
    aging = ap_aging(as_of=as_of, entity_id=entity.pk)
    control = ap_control(entity_id=entity.pk, at=aging.as_of)
    context = {
        "aging": aging,
        "totals": aging.by_currency(),
        "control": control,
        "entity": entity,
        "entities": entities,
        "currency": functional_currency(),
    }
    return render(request, "billing/payables/aging.html", context)


@role_required(*READERS)
def vendor_bills_panel(request, vendor_id: int):
    """The vendor page's panel: its latest bills the user may see, and what is open per currency."""
    bills = bills_for(request.user).filter(vendor_id=vendor_id)
    open_ = (
        bills.filter(status__in=VENDOR_BILL_OPEN_STATUSES)
        .values("currency")
        .annotate(open=Sum(OPEN), n=Count("id"))
        .order_by("currency")
    )
    latest = bills.select_related("entity").order_by("-bill_date", "-pk")[:20]
    context = {
        "bills": latest,
        "open": list(open_),
        "vendor_id": vendor_id,
        "can_enter": has_role(request.user, *FINANCE),
    }
    return render(request, "billing/payables/vendor_panel.html", context)
