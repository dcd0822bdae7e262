"""Forecast (weighted pipeline by month, owner and stage; win rate and sales cycle) and the
pipeline-weighted staffing demand heatmap."""

from django.shortcuts import render
from django.utils import timezone

from crm import selectors
from crm.filtersets import OpportunityFilter
from crm.permissions import VIEW_ROLES
from psa.core.dates import date_param
from psa.core.money import ZERO
from psa.core.replica import replica_view
from psa.core.roles import role_required


def _filtered(request):
    """The deals the forecast reads, and the currency asked for: one currency (its own figures, nothing
    converted) or, with no currency picked, every currency side by side with the total in the functional currency
    at today's rates (psa.core.totals)."""
    filterset = OpportunityFilter(request.GET, queryset=selectors.opportunities_for(request.user))
    if not filterset.is_valid():
        return filterset, filterset.queryset.none(), ""
    return filterset, filterset.qs, filterset.form.cleaned_data.get("currency") or ""


def _chart(labels: list[str], datasets: list[tuple[str, list, str]]) -> dict:
    return {
        "id": "forecast-chart",
        "type": "bar",
        "data": {
            "labels": labels,
            "datasets": [{"label": label, "data": data, "backgroundColor": colour} for label, data, colour in datasets],
        },
        "options": {"scales": {"y": {"beginAtZero": True}}, "plugins": {"legend": {"position": "bottom"}}},
    }


WEIGHTED_COLOUR, UNWEIGHTED_COLOUR = "rgba(13, 110, 253, 0.75)", "rgba(108, 117, 125, 0.25)"


@role_required(*VIEW_ROLES)
@replica_view
def forecast(request):
    filterset, queryset, currency = _filtered(request)
    context = {"filter": filterset, "stats": selectors.win_stats(queryset), "currency": currency}
    if not currency:
        report = selectors.forecast_all_currencies(queryset, on=timezone.localdate())
        labels = [m.label for m in report.months]
        if report.weighted.total is not None:
            datasets = [
                (f"Weighted ({report.weighted.functional})", [str(m.weighted.total) for m in report.months],
                 WEIGHTED_COLOUR),
                (f"Unweighted ({report.pipeline.functional})", [str(m.pipeline.total) for m in report.months],
                 UNWEIGHTED_COLOUR),
            ]  # fmt: skip
        else:  # a missing rate: one weighted series per currency, never added together
            datasets = [
                (f"Weighted ({code})", [str(m.weighted.amount(code)) for m in report.months], WEIGHTED_COLOUR)
                for code in report.currencies
            ]
        context |= {
            "report": report,
            "chart": _chart(labels, datasets),
            "total_weighted": report.weighted.total,
            "total_amount": report.pipeline.total,
        }
        return render(request, "crm/forecast.html", context)
    months = selectors.forecast_by_month(queryset)
    context |= {
        "months": months,
        "owners": selectors.forecast_by_owner(queryset),
        "stages": selectors.forecast_by_stage(queryset),
        "chart": _chart(
            [m["month"].strftime("%b %Y") if m["month"] else "No close date" for m in months],
            [
                ("Weighted", [str(m["weighted"]) for m in months], WEIGHTED_COLOUR),
                ("Unweighted", [str(m["pipeline"]) for m in months], UNWEIGHTED_COLOUR),
            ],
        ),
        "total_amount": sum((m["pipeline"] for m in months), ZERO),
        "total_weighted": sum((m["weighted"] for m in months), ZERO),
    }
    return render(request, "crm/forecast.html", context)


@role_required(*VIEW_ROLES)
def demand(request):
    start = date_param(request, "start", timezone.localdate())
    try:
        weeks = max(4, min(int(request.GET.get("weeks", 12)), 26))
    except ValueError:
        weeks = 12
    grid = selectors.weighted_demand(selectors.opportunities_for(request.user), start=start, weeks=weeks)
    rows = []
    for row in grid.rows:
        cells = [
            {"hours": h, "level": 0 if not h else min(5, int(h * 5 / grid.peak) + 1) if grid.peak else 0}
            for h in row["cells"]
        ]
        rows.append({"role": row["role"], "cells": cells, "total": row["total"]})
    return render(request, "crm/demand.html", {"grid": grid, "rows": rows, "start": grid.weeks[0], "weeks": weeks})
