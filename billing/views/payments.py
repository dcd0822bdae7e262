from django.contrib import messages
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.utils import timezone

from billing.filtersets import PaymentFilter
from billing.forms import ImportForm, PaymentForm
from billing.models import Invoice, Payment
from billing.selectors import ar_aging, dso, ledger_reconciliation, overdue_invoices
from billing.services import payment_record, payments_import_csv
from billing.services.dunning import dunning_due, dunning_send
from billing.services.payments import BANK_UPLOAD_LIMIT
from billing.views._common import finance_required
from psa.core.dates import date_param
from psa.core.exceptions import DomainError
from psa.core.exports import csv_writer
from psa.core.forms import form_apply_domain_error
from psa.core.imports import csv_import_step
from psa.core.listing import paginate_sorted
from psa.core.models import LegalEntity
from psa.core.pagecache import shared_result, wrote_recently
from psa.core.uploads import upload_limited

PAYMENT_SORTS = {"received": "received_on", "amount": "amount", "client": "account__name"}


@finance_required
def payment_list(request):
    f = PaymentFilter(request.GET, queryset=Payment.objects.select_related("account"))
    page_obj, sort = paginate_sorted(request, f.qs, sort_fields=PAYMENT_SORTS, default_sort="-received")
    return render(request, "billing/payment_list.html", {"filter": f, "page_obj": page_obj, "sort": sort})


@finance_required
def payment_new(request):
    initial = {}
    invoice = None
    if request.GET.get("invoice", "").isdigit():
        invoice = Invoice.objects.filter(pk=int(request.GET["invoice"])).first()
        if invoice:
            initial = {
                "account": invoice.account_id,
                "amount": invoice.balance,
                "invoice": invoice.pk,
                "reference": invoice.number,
            }
    form = PaymentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            allocations = None
            if d.get("invoice"):
                target = Invoice.objects.filter(pk=d["invoice"]).first()
                if target is not None and target.account_id == d["account"].pk:
                    allocations = [{"invoice_id": target.pk, "amount": min(d["amount"], target.balance)}]
            payment = payment_record(
                by=request.user,
                account_id=d["account"].pk,
                amount=d["amount"],
                received_on=d["received_on"],
                method=d["method"],
                reference=d["reference"],
                allocations=allocations,
            )
        except DomainError as exc:
            form_apply_domain_error(form, exc)
        else:
            messages.success(
                request,
                f"Payment of {payment.amount:,.2f} {payment.currency} recorded"
                + (f"; {payment.unapplied:,.2f} kept as unapplied credit." if payment.unapplied else "."),
            )
            if invoice is not None:
                return redirect("billing:invoice-detail", pk=invoice.pk)
            return redirect("billing:payment-list")
    return render(request, "billing/payment_form.html", {"form": form, "invoice": invoice})


@finance_required
@upload_limited(BANK_UPLOAD_LIMIT)
def payment_import(request):
    """Upload a bank statement, read the dry run row by row (amounts as read, the invoices each payment would
    settle), then import the same file."""
    form = ImportForm(request.POST or None, request.FILES or None)
    decimal = (form.data.get("decimal") if form.is_bound else None) or "auto"
    step = csv_import_step(
        request,
        form,
        lambda content, dry_run: payments_import_csv(
            by=request.user, content=content, dry_run=dry_run, decimal=decimal
        ),
        limit=BANK_UPLOAD_LIMIT,
    )
    if step.done:
        r = step.report
        messages.success(
            request,
            f"Imported the bank statement: {r.created} payment{pluralize(r.created)} recorded, {r.unchanged} already "
            "imported, "
            f"{r.errors} refused.",
        )
        form = ImportForm()
    context = {
        "form": form,
        "report": step.report,
        "payload": step.payload,
        "done": step.done,
        "report_label": "Date · amount · reference",
        "external_label": "Bank ref",
    }
    return render(request, "billing/payment_import.html", context, status=400 if form.errors else 200)


AGING_BUCKETS = (("current", "Current"), ("d1_30", "1-30"), ("d31_60", "31-60"), ("d61_90", "61-90"), ("d90", "90+"))
AGING_CELLS = ("current", "d1_30", "d31_60", "d61_90", "d90", "total", "credits", "retainage")
AGING_CSV_HEADER = [
    "account_id",
    "account",
    "currency",
    "current",
    "d1_30",
    "d31_60",
    "d61_90",
    "d90",
    "total",
    "credits",
    "retainage",
]


def _aging_chart(aging) -> dict:
    """The buckets in the functional currency when every currency converts; else one series per currency (a
    bar never adds two currencies)."""
    converted = aging.converted
    if converted and converted["total"].total is not None:
        datasets = [
            {
                "label": f"Open balance ({converted['total'].functional})",
                "data": [str(converted[k].total) for k, _ in AGING_BUCKETS],
                "backgroundColor": ["#198754", "#ffc107", "#fd7e14", "#dc3545", "#842029"],
            }
        ]
        legend = False
    else:
        by_currency = aging.by_currency
        datasets = [
            {"label": f"Open balance ({currency})", "data": [str(sums[k]) for k, _ in AGING_BUCKETS]}
            for currency, sums in by_currency.items()
        ]
        legend = True
    return {
        "id": "ar-aging-chart",
        "type": "bar",
        "data": {"labels": [label for _, label in AGING_BUCKETS], "datasets": datasets},
        "options": {"plugins": {"legend": {"display": legend}}},
    }


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(rows):
    writer = csv_writer(_Echo())
    for row in rows:
        yield writer.writerow(row)


AGING_PER_PAGE = 50


@finance_required
def ar_view(request):
    entities = list(LegalEntity.objects.filter(is_active=True).order_by("pk"))
    raw = request.GET.get("entity", "")
    entity = next((e for e in entities if str(e.pk) == raw), None)
    if raw and entity is None:
        messages.warning(request, f"No legal entity {raw}; showing all entities.")
    as_of = date_param(request, "as_of", timezone.localdate())
    entity_id = entity.pk if entity else None
    if request.GET.get("format") == "csv":
        aging = ar_aging(as_of=as_of, entity_id=entity_id)
        rows = (
            [
                r.account_id,
                r.name,
                r.currency,
                *(getattr(r, k) for k, _ in AGING_BUCKETS),
                r.total,
                r.credits,
                r.retainage,
            ]
            for r in aging.rows
        )
        response = StreamingHttpResponse(_csv_lines([AGING_CSV_HEADER, *rows]), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="ar-aging-{aging.as_of:%Y-%m-%d}.csv"'
        return response

    def figures() -> dict:
        aging = ar_aging(as_of=as_of, entity_id=entity_id)
        return {
            "aging": aging,
            "dso": dso(as_of=aging.as_of),
            "overdue": list(overdue_invoices(as_of=aging.as_of)[:50]),
            "rec": ledger_reconciliation(),
        }

    # the same for every finance reader: computed once per PSA_PAGE_CACHE_SECONDS (psa.core.pagecache), afresh
    # for a user who just wrote (a payment recorded, a reminder sent); the CSV above is always computed afresh
    shared = shared_result(f"ar:{as_of.isoformat()}:{entity_id}", figures, fresh=wrote_recently(request))
    aging = shared.value["aging"]
    # a client a row: paged (the totals below the table stay those of every client)
    page_obj = Paginator(aging.rows, AGING_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "billing/ar.html",
        {
            **shared.value,
            "computed_at": shared.as_of,
            "cache_seconds": shared.seconds,
            "entity": entity,
            "entities": entities,
            "converted": aging.converted,
            # the footer: one row per currency, then the converted total (columns: buckets, total, credits)
            "currency_rows": [
                (currency, [sums[k] for k in AGING_CELLS]) for currency, sums in aging.by_currency.items()
            ],
            "converted_cells": [aging.converted[k].total for k in AGING_CELLS],
            "chart": _aging_chart(aging),
            "page_obj": page_obj,
        },
    )


@finance_required
def dunning_send_view(request):
    """GET: the reminders that would go, sending nothing. POST: send exactly the ones the preview listed (their
    keys come back with the confirm) that are still due; a second confirm finds them sent and sends nothing."""
    if request.method == "POST":
        keys = request.POST.getlist("reminder")
        try:
            result = dunning_send(by=request.user, only=set(keys))
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("billing:ar")
        n = len(result.sent)
        if n:
            messages.success(request, f"Sent {n} payment reminder{pluralize(n)}.")
        skipped = len(set(keys)) - n
        if skipped > 0:
            messages.info(
                request, f"{skipped} previewed reminder{pluralize(skipped)} no longer due (already sent or paid)."
            )
        elif not n:
            messages.info(request, "No reminder is due: every overdue invoice already has its current level.")
        return redirect("billing:ar")
    due = dunning_due(by=request.user)
    return render(request, "billing/dunning_preview.html", {"due": due})
