"""Pages for paying vendors: the payments made, recording one, the payment runs and a run's page (export the
pain.001 file, download it, book the bank's execution, cancel). Finance and administrators only."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from billing.choices import PaymentRunStatus
from billing.selectors.vendor_payments import payment_run_payments, payment_runs_for, vendor_payments_for
from billing.services.payment_runs import (
    payment_run_book,
    payment_run_cancel,
    payment_run_export,
    payment_run_propose,
)
from billing.services.vendor_payments import vendor_payment_record
from billing.vendor_payment_forms import PaymentRunFilter, PaymentRunForm, VendorPaymentFilter, VendorPaymentForm
from billing.views._common import finance_required, post_action
from psa.core.entities import entity_default_id
from psa.core.exceptions import DomainError
from psa.core.files import file_url
from psa.core.forms import form_apply_domain_error
from psa.core.listing import paginate_sorted

PAYMENT_SORTS = {"paid": "paid_on", "amount": "amount", "vendor": "vendor__name"}
RUN_SORTS = {"execution": "execution_date", "total": "total", "created": "created_at"}


@finance_required
def vendor_payment_list(request):
    f = VendorPaymentFilter(request.GET, queryset=vendor_payments_for(request.user))
    page_obj, sort = paginate_sorted(request, f.qs, sort_fields=PAYMENT_SORTS, default_sort="-paid")
    return render(
        request, "billing/vendor_payments/payment_list.html", {"filter": f, "page_obj": page_obj, "sort": sort}
    )


@finance_required
def vendor_payment_new(request):
    form = VendorPaymentForm(request.POST or None, initial={"entity": entity_default_id()})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            payment = vendor_payment_record(
                vendor=d["vendor"],
                entity=d["entity"],
                paid_on=d["paid_on"],
                amount=d["amount"],
                currency=d["currency"] or None,
                reference=d["reference"],
                by=request.user,
            )
        except DomainError as exc:
            form_apply_domain_error(form, exc)
        else:
            bills = payment.allocations.count()
            messages.success(
                request,
                f"Payment of {payment.amount:,.2f} {payment.currency} to {payment.vendor.name} recorded and posted; "
                f"it settles {bills} bill{'s' if bills != 1 else ''}.",
            )
            return redirect("billing:vendor-payment-list")
    status = 400 if form.errors else 200
    return render(request, "billing/vendor_payments/payment_form.html", {"form": form}, status=status)


@finance_required
def payment_run_list(request):
    f = PaymentRunFilter(request.GET, queryset=payment_runs_for(request.user))
    page_obj, sort = paginate_sorted(request, f.qs, sort_fields=RUN_SORTS, default_sort="-execution")
    return render(request, "billing/vendor_payments/run_list.html", {"filter": f, "page_obj": page_obj, "sort": sort})


@finance_required
def payment_run_new(request):
    form = PaymentRunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            run = payment_run_propose(
                entity=d["bank_account"].entity,
                bank_account=d["bank_account"],
                execution_date=d["execution_date"],
                due_by=d["due_by"],
                vendor_ids=[v.pk for v in d["vendors"]] or None,
                by=request.user,
            )
        except DomainError as exc:
            if "vendor_ids" in exc.fields:
                exc.fields = {"vendors": exc.fields["vendor_ids"]}
            form_apply_domain_error(form, exc)
        else:
            messages.success(request, f"Payment run proposed: {run.total:,.2f} {run.currency}.")
            return redirect("billing:payment-run-detail", pk=run.pk)
    status = 400 if form.errors else 200
    return render(request, "billing/vendor_payments/run_new.html", {"form": form}, status=status)


@finance_required
def payment_run_detail(request, pk: int):
    run = get_object_or_404(payment_runs_for(request.user), pk=pk)
    context = {
        "run": run,
        "payments": payment_run_payments(run),
        "download_url": file_url("payment-run-file", run.pk) if run.file else "",
        "S": PaymentRunStatus,
    }
    return render(request, "billing/vendor_payments/run_detail.html", context)


def _run_action(request, pk: int, action, done: str):
    run = get_object_or_404(payment_runs_for(request.user), pk=pk)
    try:
        action(run_id=run.pk, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("billing:payment-run-detail", pk=run.pk)


@finance_required
@post_action
def payment_run_export_view(request, pk: int):
    return _run_action(request, pk, payment_run_export, "The pain.001 file is ready: download it for the bank.")


@finance_required
@post_action
def payment_run_book_view(request, pk: int):
    return _run_action(request, pk, payment_run_book, "Booked as paid: the payments are posted and the bills settled.")


@finance_required
@post_action
def payment_run_cancel_view(request, pk: int):
    return _run_action(request, pk, payment_run_cancel, "Payment run cancelled; its bills are free again.")
