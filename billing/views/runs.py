import uuid

from django.contrib import messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from billing.choices import ItemStatus, RunStatus
from billing.filtersets import RunFilter
from billing.forms import RunForm
from billing.models import BillingRun, BillingRunItem
from billing.selectors import preview_totals
from billing.services import billing_run_create, billing_run_preview, billing_run_retry, billing_run_start, run_progress
from billing.views._common import finance_required, post_action
from psa.core.exceptions import DomainError
from psa.core.forms import form_apply_domain_error
from psa.core.listing import paginate_sorted

RUN_SORTS = {"created": "created_at", "period": "period_end", "status": "status"}


@finance_required
def run_list(request):
    f = RunFilter(request.GET, queryset=BillingRun.objects.select_related("created_by"))
    page_obj, sort = paginate_sorted(request, f.qs, sort_fields=RUN_SORTS, default_sort="-created")
    runs = list(page_obj)
    stats = {
        r["run_id"]: r
        for r in BillingRunItem.objects.filter(run__in=runs)
        .values("run_id")
        .annotate(
            total=Count("id"),
            invoiced=Count("id", filter=Q(status=ItemStatus.DONE)),
            failed=Count("id", filter=Q(status=ItemStatus.FAILED)),
        )
        .order_by()
    }
    for run in runs:
        run.stats = stats.get(run.pk, {"total": 0, "invoiced": 0, "failed": 0})
    return render(request, "billing/run_list.html", {"filter": f, "page_obj": page_obj, "runs": runs, "sort": sort})


@finance_required
def run_new(request):
    form = RunForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            run = billing_run_create(
                by=request.user,
                period_end=d["period_end"],
                scope=d["scope"],
                account_ids=[a.pk for a in d["accounts"]],
                project_ids=[p.pk for p in d["projects"]],
                key=request.POST.get("idempotency_key") or None,
            )
        except DomainError as exc:
            form_apply_domain_error(form, exc)
        else:
            return redirect("billing:run-detail", pk=run.pk)
    return render(request, "billing/run_new.html", {"form": form, "key": uuid.uuid4().hex})


@finance_required
def run_detail(request, pk: int):
    run = get_object_or_404(BillingRun.objects.select_related("created_by"), pk=pk)
    context = {"run": run, "progress": run_progress(run)}
    if run.status == RunStatus.DRAFT:
        context["preview"] = preview = billing_run_preview(run=run)
        # Converted at today's rates: what the invoices would be worth if issued now (the page names the rates).
        context["totals"] = preview_totals(preview, on=timezone.localdate())
    else:
        context["items"] = run.items.select_related("contract__account", "invoice").order_by("status", "contract_id")
        context["drafts"] = run.invoices.filter(status="draft").count()
        context["held_items"] = run.items.filter(credit_hold=True).count()
        context["write_downs"] = run.write_downs.select_related("contract_line").order_by("pk")
    return render(request, "billing/run_detail.html", context)


@finance_required
def run_progress_fragment(request, pk: int):
    run = get_object_or_404(BillingRun, pk=pk)
    response = render(request, "billing/_run_progress.html", {"run": run, "progress": run_progress(run)})
    if run.status != RunStatus.RUNNING and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"  # the run finished: reload once to show its invoices
    return response


@finance_required
@post_action
def run_start(request, pk: int):
    billing_run_start(run_id=pk, by=request.user)
    messages.success(request, "The run has started; this page shows its progress.")
    return redirect("billing:run-detail", pk=pk)


@finance_required
@post_action
def run_retry(request, pk: int):
    billing_run_retry(run_id=pk, by=request.user)
    messages.success(request, "Failed contracts are queued again.")
    return redirect("billing:run-detail", pk=pk)
