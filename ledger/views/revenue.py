"""Revenue recognition and month-end pages for finance: schedules and estimates, recognition runs with progress,
the period-close checklist, and the revenue reports (HTML and `?format=csv`)."""

from datetime import date, timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, Sum
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from ledger.choices import METHODS_BY_BILLING_MODEL, RecognitionMethod, RecognitionRunStatus
from ledger.forms import (
    ALL_ENTITIES,
    DATE,
    MONEY,
    TEXT,
    EntityChoiceForm,
    EstimateForm,
    ReasonForm,
    ReportForm,
    RunForm,
    ScheduleFilter,
)
from ledger.models import AccountingPeriod, PeriodClose, ProjectEstimate, RecognitionRun, RevenueSchedule
from ledger.selectors.close import close_checklist
from ledger.selectors.revenue import (
    backlog,
    forecast_currencies,
    month_figures,
    revenue_by,
    revenue_forecast,
    rollforward,
    run_amounts,
    run_totals,
)
from ledger.services import period_close
from ledger.services.revenue import (
    estimate_set,
    recognition_run_start,
    revenue_schedule_method_set,
    revenue_schedules_ensure,
    revenue_schedules_rebaseline,
)
from ledger.views.books import chosen_entity
from ledger.views.journal import LEDGER_ROLES
from ledger.views.reports import _csv, _money
from projects.models import Project, TimeEntry
from psa.core.dates import month_end
from psa.core.exceptions import DomainError
from psa.core.forms import form_apply_domain_error, form_errors_text
from psa.core.money import ZERO
from psa.core.redirects import safe_next
from psa.core.replica import replica_view
from psa.core.roles import Role, has_role, role_required
from psa.core.totals import currency_totals_many

METHOD_LABELS = dict(RecognitionMethod.choices)


def _back(request, fallback: str):
    return redirect(safe_next(request, fallback))


# --- schedules and estimates --------------------------------------------------------------------------------


@role_required(*LEDGER_ROLES)
def revenue_schedule_list(request):
    form = ScheduleFilter(request.GET or None)
    schedules = RevenueSchedule.objects.select_related(
        "contract_line__contract", "project", "client", "last_period"
    ).order_by("project__code", "contract_line__position", "pk")
    if form.is_valid():
        if form.cleaned_data.get("method"):
            schedules = schedules.filter(method=form.cleaned_data["method"])
        if q := form.cleaned_data.get("q"):
            schedules = schedules.filter(
                Q(project__code__icontains=q) | Q(project__name__icontains=q) | Q(contract_line__contract__number=q)
            )
    page_obj = Paginator(schedules, 50).get_page(request.GET.get("page"))
    rows = [
        {
            "s": s,
            "methods": [(m, METHOD_LABELS[m]) for m in METHODS_BY_BILLING_MODEL.get(s.contract_line.billing_model, ())],
        }
        for s in page_obj
    ]
    estimates = ProjectEstimate.objects.select_related("project").order_by("-as_of", "-id")[:10]
    return render(
        request,
        "ledger/revenue_schedules.html",
        {"form": form, "page_obj": page_obj, "rows": rows, "estimate_form": EstimateForm(), "estimates": estimates},
    )


@require_POST
@role_required(*LEDGER_ROLES)
def revenue_schedules_ensure_view(request):
    created = revenue_schedules_ensure()
    moved = revenue_schedules_rebaseline()
    messages.success(request, f"{created} schedule(s) created, {moved} re-baselined after change orders.")
    return redirect("ledger:revenue_schedules")


@require_POST
@role_required(*LEDGER_ROLES)
def revenue_schedule_method_view(request, pk: int):
    try:
        schedule = revenue_schedule_method_set(schedule_id=pk, method=request.POST.get("method", ""), by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{schedule.contract_line}: recognised {schedule.get_method_display().lower()}.")
    return _back(request, "ledger:revenue_schedules")


@require_POST
@role_required(*LEDGER_ROLES)
def estimate_view(request):
    form = EstimateForm(request.POST)
    if form.is_valid():
        try:
            estimate = estimate_set(
                project_id=form.cleaned_data["project"].pk,
                etc_hours=form.cleaned_data["etc_hours"],
                etc_cost=form.cleaned_data["etc_cost"] or None,
                as_of=form.cleaned_data["as_of"],
                note=form.cleaned_data["note"],
                by=request.user,
            )
        except DomainError as error:
            form_apply_domain_error(form, error)
        else:
            messages.success(request, f"Estimate saved for {estimate.project}: {estimate.etc_hours} h to complete.")
            return redirect("ledger:revenue_schedules")
    if form.errors:
        messages.error(request, form_errors_text(form))
    return redirect("ledger:revenue_schedules")


# --- runs ---------------------------------------------------------------------------------------------------


@role_required(*LEDGER_ROLES)
def run_list(request):
    runs = RecognitionRun.objects.select_related("period", "created_by")
    page_obj = Paginator(runs, 25).get_page(request.GET.get("page"))
    amounts = run_amounts([run.pk for run in page_obj])
    for run in page_obj:
        run.by_currency = amounts.get(run.pk, [])
    return render(request, "ledger/recognition_runs.html", {"page_obj": page_obj, "form": RunForm()})


@require_POST
@role_required(*LEDGER_ROLES)
def run_start_view(request):
    form = RunForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick an open month: recognition never posts into a closed one.")
        return _back(request, "ledger:recognition_runs")
    try:
        run = recognition_run_start(period_id=form.cleaned_data["period"].pk, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return _back(request, "ledger:recognition_runs")
    messages.success(request, f"Recognition for {run.period.label} started; this page shows its progress.")
    return redirect("ledger:recognition_run", run.pk)


@role_required(*LEDGER_ROLES)
def run_detail(request, pk: int):
    run = get_object_or_404(RecognitionRun.objects.select_related("period", "created_by"), pk=pk)
    recognitions = run.recognitions.select_related("schedule__contract_line__contract", "schedule__project").order_by(
        "schedule__project__code", "schedule_id"
    )
    page_obj = Paginator(recognitions, 50).get_page(request.GET.get("page"))
    totals = run_totals(run_id=run.pk, on=run.period.end)
    return render(request, "ledger/recognition_run.html", {"run": run, "page_obj": page_obj, "totals": totals})


@role_required(*LEDGER_ROLES)
def run_progress(request, pk: int):
    run = get_object_or_404(RecognitionRun.objects.select_related("period"), pk=pk)
    totals = run_totals(run_id=run.pk, on=run.period.end)
    response = render(request, "ledger/_recognition_progress.html", {"run": run, "totals": totals})
    if run.status != RecognitionRunStatus.RUNNING and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


# --- month-end ----------------------------------------------------------------------------------------------


@role_required(*LEDGER_ROLES)
def month_end_index(request):
    """The first open month's checklist (months close in order)."""
    period = AccountingPeriod.objects.filter(status="open").order_by("start").first()
    if period is None:
        messages.error(request, "No open period: create periods first.")
        return redirect("ledger:periods")
    return redirect("ledger:close_checklist", period.pk)


@role_required(*LEDGER_ROLES)
def close_checklist_view(request, pk: int):
    """One month's close for one legal entity (`?entity=`, default: the default entity; the page says which). The
    checklist covers the whole firm (the recognition and revaluation runs are firm-wide); the close, its order and
    the review figures are the entity's."""
    period = get_object_or_404(AccountingPeriod, pk=pk)
    entity = chosen_entity(request)
    rows = close_checklist(period)
    first_open = AccountingPeriod.objects.exclude(closes__entity=entity).order_by("start").first()
    close = PeriodClose.objects.filter(period=period, entity=entity).select_related("closed_by").first()
    report = rollforward(start=period.start, end=period.end, entity_id=entity.pk)
    return render(
        request,
        "ledger/close_checklist.html",
        {
            "entity": entity,
            "entity_form": EntityChoiceForm(initial={"entity": entity.pk}),
            "entity_close": close,
            "entity_open": close is None,
            "period": period,
            "rows": rows,
            "outstanding": sum(1 for r in rows if not r.done),
            "blocked": any(r.blocking and not r.done for r in rows),
            "blocking_rows": [r for r in rows if r.blocking and not r.done],
            "can_override": has_role(request.user, Role.ADMIN),
            "can_close": period == first_open,
            "report": report,
            "close_form": ReasonForm(initial={"reason": f"Month-end close {period.label}"}),
            "last_run": RecognitionRun.objects.filter(period=period).first(),
            "figures": month_figures(start=period.start, end=period.end),
        },
    )


@require_POST
@role_required(*LEDGER_ROLES)
def close_period_view(request, pk: int):
    period = get_object_or_404(AccountingPeriod, pk=pk)
    entity = chosen_entity(request)
    back = f"{reverse('ledger:close_checklist', args=[pk])}?entity={entity.pk}"
    try:
        period_close(
            period_id=pk,
            by=request.user,
            reason=request.POST.get("reason", ""),
            override_reason=request.POST.get("override_reason", ""),
            entity_id=entity.pk,
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect(back)
    messages.success(request, f"{period.label} is closed for {entity.code}.")
    return redirect(back)


# --- reports ------------------------------------------------------------------------------------------------


def _range(request, forward: int = 0) -> tuple[ReportForm, date, date, dict]:
    """The report's dates (default: 1 January to this month's end, plus `forward` months) and its filters."""
    today = timezone.localdate()
    start, end = date(today.year, 1, 1), month_end(today)
    for _ in range(forward):
        end = month_end(end + timedelta(days=1))
    form = ReportForm(request.GET or None, initial={"start": start, "end": end, "by": "method"})
    extra: dict = {}
    if form.is_valid():
        start = form.cleaned_data.get("start") or start
        end = form.cleaned_data.get("end") or end
        extra = {k: form.cleaned_data.get(k) for k in ("client", "project", "by", "entity")}
    return form, start, end, extra


def _ids(extra: dict) -> dict:
    return {
        "client_id": extra["client"].pk if extra.get("client") else None,
        "project_id": extra["project"].pk if extra.get("project") else None,
    }


def _page(request, rows: list):
    return Paginator(rows, 50).get_page(request.GET.get("page"))


@role_required(*LEDGER_ROLES)
def revenue_report_view(request):
    form, start, end, extra = _range(request)
    by = extra.get("by") or "method"
    report = revenue_by(start=start, end=end, by=by, **_ids(extra))
    if request.GET.get("format") == "csv":
        return _csv(
            f"revenue-by-{by}-{start}-{end}",
            [by, "currency", "revenue"],
            [[r["label"], r["currency"], _money(r["amount"])] for r in report.rows]
            + [["Total", line.currency, _money(line.amount)] for line in report.totals.lines]
            + [[f"Total in {report.functional}", report.functional, _money(report.total)]] * report.totals.converted,
        )
    return render(
        request,
        "ledger/revenue_report.html",
        {"form": form, "report": report, "page_obj": _page(request, report.rows), "start": start, "end": end},
    )


@role_required(*LEDGER_ROLES)
def rollforward_view(request):
    form, start, end, extra = _range(request)
    entity = extra.get("entity")
    report = rollforward(start=start, end=end, entity_id=entity.pk if entity else None, **_ids(extra))
    if request.GET.get("format") == "csv":
        names = ("opening", "billed", "recognised", "other", "closing", "unbilled", "deferred")
        # The CSV keeps its columns: a foreign contract's netting exchange difference counts as "other" here, so
        # each row still reconciles (the page and the API show it apart, with the contract's currency).
        rows = [{**r, "other": r["other"] + r["exchange"]} for r in report.rows]
        totals = {**report.totals, "other": report.totals["other"] + report.totals["exchange"]}
        return _csv(
            f"contract-rollforward-{entity.code if entity else 'all'}-{start}-{end}",
            ["project", "client", *names],
            [[r["project__code"], r["client__name"], *(_money(r[n]) for n in names)] for r in rows]
            + [["Total", "", *(_money(totals[n]) for n in names)]],
        )
    return render(
        request,
        "ledger/rollforward.html",
        {
            "form": form,
            "report": report,
            "page_obj": _page(request, report.rows),
            "books_of": f"{entity.code} {entity.name}" if entity else f"{ALL_ENTITIES} (summed)",
        },
    )


@role_required(*LEDGER_ROLES)
def backlog_view(request):
    form, start, end, extra = _range(request, forward=6)
    rows = backlog(start=start, end=end, client_id=_ids(extra)["client_id"])
    if request.GET.get("format") == "csv":
        return _csv(
            f"backlog-{start}-{end}",
            ["month", "currency", "contracted", "recognised", "backlog"],
            [
                [f"{r['month']:%Y-%m}", r["currency"], *(_money(r[n]) for n in ("contracted", "recognised", "backlog"))]
                for r in rows
            ],
        )
    return render(request, "ledger/backlog.html", {"form": form, "rows": rows})


@role_required(*LEDGER_ROLES)
@replica_view
def forecast_view(request):
    """The revenue forecast per currency (`?currency=` for one), each month's figures in their own currency and
    the month's total in the functional currency at today's named rates."""
    form, start, end, _extra = _range(request, forward=6)
    today = timezone.localdate()
    asked = request.GET.get("currency", "").upper()
    codes = [asked] if asked else forecast_currencies()
    reports = [revenue_forecast(start=start, end=end, today=today, currency=code) for code in codes]
    months = reports[0].months
    labels = [f"{m:%Y-%m}" for m in months]
    if request.GET.get("format") == "csv":
        return _csv(
            f"revenue-forecast-{start}-{end}",
            ["month", "currency", "recognised", "scheduled", "weighted_pipeline", "total"],
            [
                [label, r.currency, _money(a), _money(b), _money(c), _money(t)]
                for r in reports
                for label, a, b, c, t in zip(labels, r.recognised, r.scheduled, r.pipeline, r.totals, strict=True)
            ],
        )
    kinds = ("recognised", "scheduled", "pipeline", "totals")
    columns = {f"{k}:{i}": [(r.currency, getattr(r, k)[i]) for r in reports] for k in kinds for i in range(len(months))}
    columns["whole"] = [(r.currency, sum(r.totals, ZERO)) for r in reports]
    converted = currency_totals_many(columns, on=today)
    whole = converted["whole"]
    in_functional = bool(months) and all(converted[f"totals:{i}"].total is not None for i in range(len(months)))
    colours = {"recognised": "#243b6b", "scheduled": "#3d8b5f", "pipeline": "#e0a458"}
    names = {"recognised": "Recognised", "scheduled": "Scheduled", "pipeline": "Weighted pipeline"}
    if in_functional:  # every currency converted: one stacked series per kind, in the functional currency
        series = [(f"{names[k]} ({whole.functional})", [str(converted[f"{k}:{i}"].total) for i in range(len(months))],
                   colours[k]) for k in names]  # fmt: skip
    else:  # a missing rate: one series per kind and currency, each in its own currency
        series = [(f"{names[k]} ({r.currency})", [str(x) for x in getattr(r, k)], colours[k]) for r in reports
                  for k in names]  # fmt: skip
    chart = {
        "id": "forecast-chart",
        "type": "bar",
        "data": {
            "labels": labels,
            "datasets": [{"label": label, "data": data, "backgroundColor": colour} for label, data, colour in series],
        },
        "options": {
            "plugins": {"legend": {"position": "bottom"}},
            "scales": {"x": {"stacked": True}, "y": {"stacked": True}},
        },
    }
    rows = [
        {
            "label": label,
            "currencies": [(r.currency, r.recognised[i], r.scheduled[i], r.pipeline[i], r.totals[i]) for r in reports],
            "total": converted[f"totals:{i}"],
        }
        for i, label in enumerate(labels)
    ]
    context = {"form": form, "reports": reports, "chart": chart, "rows": rows, "whole": whole, "currency": asked}
    return render(request, "ledger/forecast.html", context)


class ProjectEstimateForm(forms.Form):
    as_of = forms.DateField(initial=date.today, widget=DATE, label="From")
    etc_hours = forms.CharField(label="Hours to complete", widget=forms.TextInput(attrs=MONEY))
    etc_cost = forms.CharField(label="Cost to complete", required=False, widget=forms.TextInput(attrs=MONEY))
    note = forms.CharField(required=False, max_length=300, widget=forms.TextInput(attrs=TEXT))


@role_required(Role.PROJECT_MANAGER, Role.FINANCE, Role.ADMIN)
def project_estimate_panel(request, pk: int):
    """The estimate-to-complete panel the project page loads (HTMX): the latest estimates, the estimate at
    completion in hours, and a form for the project's manager (or finance) to record a new one. A refused
    estimate comes back with its errors inline (400)."""
    project = get_object_or_404(Project.objects.only("pk", "code", "project_manager_id"), pk=pk)
    may_edit = has_role(request.user, Role.FINANCE, Role.ADMIN) or project.project_manager_id == request.user.pk
    form = ProjectEstimateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not may_edit:
            raise PermissionDenied
        if form.is_valid():
            try:
                estimate_set(
                    project_id=project.pk, etc_hours=form.cleaned_data["etc_hours"],
                    etc_cost=form.cleaned_data["etc_cost"] or None, as_of=form.cleaned_data["as_of"],
                    note=form.cleaned_data["note"], by=request.user,
                )  # fmt: skip
                form = ProjectEstimateForm()
            except DomainError as error:
                form_apply_domain_error(form, error)
        status = 400 if form.errors else 200
    estimates = list(ProjectEstimate.objects.filter(project=project).select_related("created_by")[:5])
    actual = TimeEntry.objects.filter(project=project, status="approved").aggregate(h=Sum("hours"))["h"] or ZERO
    latest = estimates[0] if estimates else None
    context = {
        "project": project,
        "estimates": estimates,
        "actual_hours": actual,
        "eac_hours": actual + latest.etc_hours if latest else None,
        "form": form,
        "may_edit": may_edit,
    }
    return render(request, "ledger/_project_estimate.html", context, status=status)
