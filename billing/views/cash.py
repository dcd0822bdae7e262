"""Cash pages for finance: collections ordered by predicted risk, the 13-week and 12-month cash forecast with its
scenarios and staffing gap, saving a forecast as a snapshot, and a snapshot's accuracy against actual cash."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from billing.choices import CashFlowKind
from billing.filtersets import CollectionsFilter
from billing.models import Invoice
from billing.selectors.cash_forecast import (
    INFLOWS,
    CashForecast,
    Deal,
    Scenario,
    cash_forecast,
    open_deals,
    staffing_gap,
)
from billing.selectors.cash_snapshots import snapshot_accuracy, snapshots_for
from billing.selectors.collections import collections
from billing.services.cash import cash_forecast_snapshot_save
from billing.views._common import finance_required, post_action
from psa.core.dates import date_param, parse_date
from psa.core.exceptions import ValidationFailed
from psa.core.money import ZERO
from psa.core.replica import replica_view

PER_PAGE = 25


@finance_required
def collections_view(request):
    as_of = date_param(request, "as_of", timezone.localdate())
    f = CollectionsFilter(request.GET, queryset=Invoice.objects.all())
    result = collections(as_of=as_of, invoices=f.qs, min_risk=f.min_risk_value)
    page_obj = Paginator(result.rows, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "billing/cash/collections.html",
        {"filter": f, "page_obj": page_obj, "result": result, "backtest": result.backtest},
    )


def scenario_from_query(query: QueryDict, deals: list[Deal]) -> tuple[Scenario, list[str]]:
    """A scenario from the page's query: `out` (deal ids left out, repeatable), `p_<id>` (probability, 0-100),
    `close_<id>` (a new close date). Values that are not valid are ignored and named in the returned problems."""
    ids = {d.id: d for d in deals}
    problems: list[str] = []
    excluded = set()
    for raw in query.getlist("out"):
        if raw.isdigit() and int(raw) in ids:
            excluded.add(int(raw))
        else:
            problems.append(f"No open deal {raw} to leave out.")
    probability, close = {}, {}
    for deal in deals:
        raw_p = query.get(f"p_{deal.id}", "").strip()
        if raw_p and raw_p != str(deal.probability):
            if raw_p.isdigit() and 0 <= int(raw_p) <= 100:
                probability[deal.id] = int(raw_p)
            else:
                problems.append(f"Probability of {deal.name}: use a whole number from 0 to 100.")
        raw_c = query.get(f"close_{deal.id}", "").strip()
        if raw_c and raw_c != deal.close.isoformat():
            try:
                close[deal.id] = parse_date(raw_c, field=f"close_{deal.id}")
            except ValidationFailed:
                problems.append(f"Close date of {deal.name}: use a date as YYYY-MM-DD.")
    return Scenario(excluded=frozenset(excluded), close=close, probability=probability), problems


def _chart(forecast: CashForecast, granularity: str) -> dict | None:
    table = forecast.table(granularity)
    receipts, payments, cumulative = table.receipts(), table.payments(), table.cumulative()
    if receipts is None or payments is None or cumulative is None:
        return None
    fmt = "%d %b" if granularity == "week" else "%b %Y"
    return {
        "id": f"cash-{granularity}-chart",
        "type": "bar",
        "data": {
            "labels": [start.strftime(fmt) for start, _ in table.buckets],
            "datasets": [
                {
                    "label": f"Receipts ({table.functional})",
                    "data": [str(v) for v in receipts],
                    "backgroundColor": "#198754",
                },
                {
                    "label": f"Payments ({table.functional})",
                    "data": [str(-v) for v in payments],
                    "backgroundColor": "#dc3545",
                },
                {
                    "label": f"Cumulative net ({table.functional})",
                    "data": [str(v) for v in cumulative],
                    "type": "line",
                    "borderColor": "#0d6efd",
                },
            ],
        },
        "options": {"plugins": {"legend": {"display": True}}, "scales": {"x": {"stacked": True}}},
    }


def _rows(table, currency: str | None = None) -> list[dict] | None:
    """The table's rows for one currency, or converted (None when a rate is missing): one row per kind, then
    receipts, payments and net."""
    source = table.cells.get(currency, {}) if currency else table.converted
    if source is None:
        return None
    empty = [ZERO] * len(table.buckets)
    rows = [
        {"label": CashFlowKind(kind).label, "kind": kind, "inflow": kind in INFLOWS, "values": source.get(kind, empty)}
        for kind in CashFlowKind.values
    ]
    rows.append({"label": "Receipts", "kind": "receipts", "total": True, "values": table.receipts(currency)})
    rows.append({"label": "Payments", "kind": "payments", "total": True, "values": table.payments(currency)})
    rows.append({"label": "Net cash flow", "kind": "net", "total": True, "values": table.net(currency)})
    return rows


def _impact(base: CashForecast, scenario: CashForecast, granularity: str) -> list | None:
    a, b = base.table(granularity).net(), scenario.table(granularity).net()
    if a is None or b is None:
        return None
    return [y - x for x, y in zip(a, b, strict=True)]


@finance_required
@replica_view
def forecast_view(request):
    as_of = date_param(request, "as_of", timezone.localdate())
    granularity = "week" if request.GET.get("by") == "week" else "month"
    deals = open_deals()
    scenario, problems = scenario_from_query(request.GET, deals)
    for problem in problems:
        messages.warning(request, problem)
    base = cash_forecast(as_of=as_of)
    current = base if scenario.is_base else cash_forecast(as_of=as_of, scenario=scenario)
    table = current.table(granularity)
    gap = staffing_gap(as_of=as_of, deals=current.deals)
    return render(
        request,
        "billing/cash/forecast.html",
        {
            "as_of": as_of,
            "granularity": granularity,
            "forecast": current,
            "table": table,
            "rows": _rows(table),
            "currency_rows": [(c, _rows(table, c)) for c in table.currencies],
            "cumulative": table.cumulative(),
            "scenario": scenario,
            "deals": current.deals,
            "impact": None if scenario.is_base else _impact(base, current, granularity),
            "gap": gap,
            "gap_totals": [
                {
                    key: (r[key] if key == "role" else sum(r[key], ZERO))
                    for key in ("role", "bench", "base", "scenario", "gap")
                }
                for r in gap.rows
            ],
            "chart": _chart(current, granularity),
            "snapshots": snapshots_for(request.user)[:5],
            "query": request.GET.urlencode(),
        },
    )


@finance_required
@post_action
def snapshot_save_view(request):
    as_of = date_param(request, "as_of", timezone.localdate())
    query = QueryDict(request.POST.get("query", ""))
    scenario, problems = scenario_from_query(query, open_deals())
    if problems:
        for problem in problems:
            messages.error(request, problem)
        return redirect(f"{reverse('billing:cash-forecast')}?{query.urlencode()}")
    snapshot = cash_forecast_snapshot_save(
        as_of=as_of, by=request.user, scenario=scenario, note=request.POST.get("note", "")
    )
    messages.success(request, f"Forecast of {snapshot.as_of:%d %b %Y} saved; compare it with actual cash here later.")
    return redirect("billing:cash-snapshot", pk=snapshot.pk)


@finance_required
def snapshot_list(request):
    page_obj = Paginator(snapshots_for(request.user), PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "billing/cash/snapshot_list.html", {"page_obj": page_obj})


@finance_required
def snapshot_detail(request, pk: int):
    snapshot = get_object_or_404(snapshots_for(request.user), pk=pk)
    granularity = "week" if request.GET.get("by") == "week" else "month"
    today = timezone.localdate()
    rows = snapshot_accuracy(snapshot, granularity=granularity, today=today)
    return render(
        request,
        "billing/cash/snapshot_detail.html",
        {"snapshot": snapshot, "rows": rows, "granularity": granularity, "today": today},
    )
