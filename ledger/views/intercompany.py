"""Ledger → Intercompany (finance): the month-end recharge (preview, run, the runs and what each posted), the
transfer rates, the matching report of both sides, and the consolidated view. Writes go through
ledger.services.intercompany; reads through ledger.selectors.intercompany and .consolidation."""

from datetime import date, timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from ledger.forms import ConsolidationForm, MatchingForm, RechargeForm, TransferRateForm
from ledger.models import IntercompanyRun, TransferRate
from ledger.selectors.consolidation import consolidation
from ledger.selectors.intercompany import ic_matching, recharge_plan
from ledger.services.intercompany import recharge_start, transfer_rate_create
from ledger.views.journal import LEDGER_ROLES
from psa.core.currency import functional_currency
from psa.core.dates import month_start
from psa.core.exceptions import DomainError
from psa.core.roles import role_required


def _last_month() -> date:
    return month_start(month_start(timezone.localdate()) - timedelta(days=1))


@role_required(*LEDGER_ROLES)
def intercompany_index(request):
    form = RechargeForm(request.GET or None, initial={"month": _last_month()})
    month = month_start(form.cleaned_data["month"]) if form.is_valid() else _last_month()
    plan = recharge_plan(month)
    runs = IntercompanyRun.objects.select_related("created_by")
    rates = TransferRate.objects.select_related("supplier", "receiver", "role").order_by(
        "supplier__code", "receiver__code", "role__name", "valid_from"
    )
    return render(
        request,
        "ledger/intercompany.html",
        {
            "form": form,
            "month": month,
            "plan": plan,
            "page_obj": Paginator(runs, 25).get_page(request.GET.get("page")),
            "rates": rates,
            "rate_form": TransferRateForm(initial={"valid_from": month}),
        },
    )


@require_POST
@role_required(*LEDGER_ROLES)
def recharge_start_view(request):
    form = RechargeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick the month to recharge.")
        return redirect("ledger:intercompany")
    month = month_start(form.cleaned_data["month"])
    back = f"{reverse('ledger:intercompany')}?month={month:%Y-%m-%d}"
    try:
        run = recharge_start(month=month, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        for detail in error.fields.get("month", [])[1:]:
            messages.error(request, detail)
        return redirect(back)
    messages.success(request, f"Intercompany recharge of {run.label} started (run #{run.pk}); its result shows below.")
    return redirect(back)


@require_POST
@role_required(*LEDGER_ROLES)
def transfer_rate_add_view(request):
    form = TransferRateForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            rate = transfer_rate_create(
                by=request.user,
                supplier_id=data["supplier"].pk,
                receiver_id=data["receiver"].pk,
                role_id=data["role"].pk if data["role"] else None,
                markup_percent=data["markup_percent"],
                valid_from=data["valid_from"],
                valid_to=data["valid_to"],
                note=data["note"],
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"Transfer rate {rate.supplier_id}→{rate.receiver_id} added.")
    else:
        messages.error(request, "The transfer rate is not valid: " + "; ".join(
            f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()
        ))  # fmt: skip
    return redirect("ledger:intercompany")


@role_required(*LEDGER_ROLES)
def matching_view(request):
    form = MatchingForm(request.GET or None)
    year = form.cleaned_data.get("year") if form.is_valid() else None
    rows = ic_matching(year=year)
    return render(
        request,
        "ledger/intercompany_matching.html",
        {"form": form, "rows": rows, "all_matched": all(r.matched for r in rows)},
    )


@role_required(*LEDGER_ROLES)
def consolidation_view(request):
    today = timezone.localdate()
    initial = {"currency": functional_currency(), "at": today}
    form = ConsolidationForm(request.GET or None, initial=initial)
    currency, at = initial["currency"], initial["at"]
    if form.is_valid():
        currency, at = form.cleaned_data["currency"], form.cleaned_data["at"]
    report, refusal = None, ""
    try:
        report = consolidation(currency=currency, at=at)
    except DomainError as error:
        refusal = error.message
    return render(request, "ledger/consolidation.html", {"form": form, "report": report, "refusal": refusal})
