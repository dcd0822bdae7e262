"""Ledger → Revaluation (finance): choose a period, preview what the month-end revaluation would post per currency
(open amount, booked, rate with its date, revalued, difference), run it with progress, and the history of runs
with the rates each used and a link to its entries. Writes go through ledger.services.revaluation."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ledger.choices import RevaluationRunStatus
from ledger.forms import RunForm
from ledger.models import AccountingPeriod, JournalEntry, RevaluationRun
from ledger.selectors.revaluation import revaluation_plan
from ledger.services.revaluation import revaluation_start
from ledger.views.journal import LEDGER_ROLES
from psa.core.exceptions import DomainError
from psa.core.roles import role_required


@role_required(*LEDGER_ROLES)
def revaluation_index(request):
    form = RunForm(request.GET or None)
    period = form.cleaned_data["period"] if form.is_valid() else None
    if period is None:
        period = AccountingPeriod.objects.filter(status="open").order_by("start").first()
        form = RunForm(initial={"period": period})
    plan, refusal = None, ""
    if period is not None:
        try:
            plan = revaluation_plan(period)
        except DomainError as error:
            refusal = error.message
    runs = RevaluationRun.objects.select_related("period", "created_by", "entry", "replaces")
    page_obj = Paginator(runs, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "ledger/revaluation.html",
        {"form": form, "period": period, "plan": plan, "refusal": refusal, "page_obj": page_obj},
    )


@require_POST
@role_required(*LEDGER_ROLES)
def revaluation_start_view(request):
    form = RunForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick an open month: a closed month is not revalued (revalue before closing).")
        return redirect("ledger:revaluation")
    try:
        run = revaluation_start(period_id=form.cleaned_data["period"].pk, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(f"{reverse('ledger:revaluation')}?period={form.cleaned_data['period'].pk}")
    messages.success(request, f"Revaluation of {run.period.label} started; this page shows its progress.")
    return redirect("ledger:revaluation_run", run.pk)


@role_required(*LEDGER_ROLES)
def revaluation_run_detail(request, pk: int):
    run = get_object_or_404(RevaluationRun.objects.select_related("period", "created_by", "replaces"), pk=pk)
    entries = JournalEntry.objects.filter(source=run.source).order_by("pk")
    page_obj = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "ledger/revaluation_run.html", {"run": run, "page_obj": page_obj})


@role_required(*LEDGER_ROLES)
def revaluation_progress(request, pk: int):
    run = get_object_or_404(RevaluationRun.objects.select_related("period"), pk=pk)
    response = render(request, "ledger/_revaluation_progress.html", {"run": run})
    if run.status != RevaluationRunStatus.RUNNING and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response
