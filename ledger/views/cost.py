"""Ledger → Labour cost (finance): start the month-end labour cost posting for a month (optionally one legal
entity), watch its progress, and read each run's result (project-months processed, projects and entries posted,
the net amount, the projects refused and why) with the entries it posted. Writes go through
ledger.services.cost_posting; the rule is in its module docstring."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from ledger.choices import LABOUR_COST_SOURCE, CostRunStatus
from ledger.forms import CostRunForm
from ledger.models import AccountingPeriod, CostPostingRun, JournalEntry
from ledger.services.cost_posting import cost_posting_start, run_memo_suffix
from ledger.views.journal import LEDGER_ROLES
from psa.core.exceptions import DomainError
from psa.core.roles import role_required


@role_required(*LEDGER_ROLES)
def cost_runs(request):
    form = CostRunForm(request.GET or None)
    period = form.cleaned_data["period"] if form.is_valid() else None
    if period is None:
        period = AccountingPeriod.objects.filter(status="open").order_by("start").first()
        form = CostRunForm(initial={"period": period})
    runs = CostPostingRun.objects.select_related("period", "entity", "created_by")
    if request.GET.get("period"):
        runs = runs.filter(period=period)
    page_obj = Paginator(runs, 25).get_page(request.GET.get("page"))
    return render(request, "ledger/cost_runs.html", {"form": form, "period": period, "page_obj": page_obj})


@require_POST
@role_required(*LEDGER_ROLES)
def cost_run_start_view(request):
    form = CostRunForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick a month (and optionally a legal entity) to post the labour cost of.")
        return redirect("ledger:cost_runs")
    entity = form.cleaned_data["entity"]
    try:
        run = cost_posting_start(
            period_id=form.cleaned_data["period"].pk, entity_id=entity.pk if entity else None, by=request.user
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("ledger:cost_runs")
    messages.success(request, f"Labour cost posting for {run.period.label} started; this page shows its progress.")
    return redirect("ledger:cost_run", run.pk)


@role_required(*LEDGER_ROLES)
def cost_run_detail(request, pk: int):
    run = get_object_or_404(CostPostingRun.objects.select_related("period", "entity", "created_by"), pk=pk)
    entries = JournalEntry.objects.filter(
        source__startswith=LABOUR_COST_SOURCE, memo__endswith=run_memo_suffix(run.pk)
    ).order_by("pk")
    page_obj = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "ledger/cost_run.html", {"run": run, "page_obj": page_obj})


@role_required(*LEDGER_ROLES)
def cost_run_progress(request, pk: int):
    run = get_object_or_404(CostPostingRun.objects.select_related("period", "entity"), pk=pk)
    response = render(request, "ledger/_cost_progress.html", {"run": run})
    if run.status != CostRunStatus.RUNNING and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response
