"""Ledger -> Exchange rates: the dated rate table for finance. A filterable list, a form to enter or correct the
rate of a date, the ECB file upload (dry run, then apply the same file), and a chart of the chosen currency's
rates. The rules are psa.core.rates'; the page only collects input and shows the answers."""

import json
from datetime import date, timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ledger.filtersets import ExchangeRateFilter
from ledger.forms import EcbImportForm, ExchangeRateForm
from ledger.views.journal import LEDGER_ROLES
from psa.core.currency import functional_currency
from psa.core.ecb import ECB_UPLOAD_LIMIT
from psa.core.exceptions import DomainError
from psa.core.forms import form_apply_domain_error
from psa.core.fx import latest_rate_date, rate_history
from psa.core.imports import ImportStep, csv_import_step
from psa.core.listing import paginate_sorted
from psa.core.models import ExchangeRate, RateSource
from psa.core.rates import EcbImportReport, exchange_rate_delete, exchange_rate_set, exchange_rates_import_ecb
from psa.core.roles import role_required
from psa.core.uploads import upload_limited

SORTS = {"date": "date", "currency": "currency", "rate": "rate", "source": "source"}
CHART_POINTS = 750  # a longer history is thinned to every n-th rate (the last always shown)
FORM_PREFIX = "rate"


def _chart(currency: str, quote: str, since: date | None, until: date | None) -> dict | None:
    until = until or latest_rate_date(currency=currency, quote=quote)
    if until is None:
        return None
    points = rate_history(currency=currency, quote=quote, since=since or until - timedelta(days=365), until=until)
    if not points:
        return None
    step = -(-len(points) // CHART_POINTS)
    shown = points[::step] if points[-1] in points[::step] else [*points[::step], points[-1]]
    return {
        "id": "rate-chart",
        "type": "line",
        "data": {
            "labels": [day.isoformat() for day, _ in shown],
            # rates as strings (Chart.js reads numeric strings): no float on the way
            "datasets": [{"label": f"1 {currency} in {quote}", "data": [str(rate) for _, rate in shown],
                          "borderColor": "#243b6b", "backgroundColor": "#243b6b", "pointRadius": 0,
                          "borderWidth": 2, "tension": 0}],
        },
        "options": {"plugins": {"legend": {"position": "bottom"}}, "interaction": {"intersect": False, "mode": "index"},
                    "scales": {"x": {"ticks": {"maxTicksLimit": 12}}}},
    }  # fmt: skip


def _page(
    request: HttpRequest, *, form: ExchangeRateForm, upload: EcbImportForm, step: ImportStep | None = None
) -> HttpResponse:
    quote = functional_currency()
    filterset = ExchangeRateFilter(request.GET, queryset=ExchangeRate.objects.select_related("created_by"))
    page_obj, sort = paginate_sorted(request, filterset.qs, sort_fields=SORTS, default_sort="-date", per_page=50)
    held = list(
        ExchangeRate.objects.filter(quote=quote).order_by("currency").values_list("currency", flat=True).distinct()
    )
    filters = filterset.form.cleaned_data if filterset.is_valid() else {}
    chart_currency = filters.get("currency") or ("USD" if "USD" in held else (held[0] if held else ""))
    chart = _chart(chart_currency, quote, filters.get("date_from"), filters.get("date_to")) if chart_currency else None
    context = {
        "filter": filterset,
        "page_obj": page_obj,
        "sort": sort,
        "quote": quote,
        "held": held,
        "chart_currency": chart_currency,
        "chart": chart,
        # on the canvas (data-chart-config), as the budget panel does
        "chart_config": json.dumps(chart) if chart else "",
        "form": form,
        "upload": upload,
        "report": step.report if step else None,
        "payload": step.payload if step else "",
        "done": step.done if step else False,
    }
    return render(request, "ledger/exchange_rates.html", context)


@role_required(*LEDGER_ROLES)
def exchange_rates(request: HttpRequest) -> HttpResponse:
    """The list, and the form to enter or correct a rate (a POST here)."""
    quote = functional_currency()
    if request.method != "POST":
        # "Correct" links pre-fill the form with the row's currency, date and rate (rate-currency=..., ...)
        initial = {k.removeprefix(f"{FORM_PREFIX}-"): v for k, v in request.GET.items() if k.startswith(FORM_PREFIX)}
        initial = initial or ({"currency": request.GET["currency"]} if request.GET.get("currency") else {})
        form = ExchangeRateForm(initial=initial or None, prefix=FORM_PREFIX, functional=quote)
        return _page(request, form=form, upload=EcbImportForm())
    form = ExchangeRateForm(request.POST, prefix=FORM_PREFIX, functional=quote)
    if form.is_valid():
        d = form.cleaned_data
        try:
            change = exchange_rate_set(
                currency=d["currency"], on=d["date"], rate=d["rate"], source=RateSource.MANUAL, by=request.user
            )
        except DomainError as error:
            form_apply_domain_error(form, error)
        else:
            row = change.row
            if change.created:
                messages.success(request, f"Added {row}.")
            elif change.changed:
                messages.success(
                    request, f"Corrected {row.currency} on {row.date:%Y-%m-%d}: {change.previous} → {row.rate}."
                )
            else:
                messages.info(request, f"{row} was already the rate of that date.")
            return redirect(f"{request.path}?currency={row.currency}")
    return _page(request, form=form, upload=EcbImportForm())


@role_required(*LEDGER_ROLES)
@upload_limited(ECB_UPLOAD_LIMIT)
def exchange_rates_import(request: HttpRequest) -> HttpResponse:
    """Upload the ECB file: the dry run shows what it would do; Apply imports exactly the checked file."""
    if request.method != "POST":
        return redirect("ledger:exchange_rates")
    upload = EcbImportForm(request.POST, request.FILES)
    step = csv_import_step(
        request,
        upload,
        lambda content, dry_run: exchange_rates_import_ecb(file=content, by=request.user, dry_run=dry_run),
        limit=ECB_UPLOAD_LIMIT,
    )
    if step.done and isinstance(step.report, EcbImportReport):
        r = step.report
        messages.success(
            request,
            f"Imported the ECB rates: {r.created} new, {r.updated} corrected, {r.unchanged} unchanged "
            f"({r.rows} dates, {r.first} to {r.last}).",
        )
        return redirect("ledger:exchange_rates")
    form = ExchangeRateForm(prefix=FORM_PREFIX, functional=functional_currency())
    return _page(request, form=form, upload=upload if step.report is None else EcbImportForm(), step=step)


@require_POST
@role_required(*LEDGER_ROLES)
def exchange_rate_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        exchange_rate_delete(rate_id=pk, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Rate deleted; posted entries keep the rate they were booked at.")
    return redirect("ledger:exchange_rates")
