"""Forecast (weighted pipeline by month, owner and stage; win rate and sales cycle) and the
pipeline-weighted staffing demand heatmap."""

from django.shortcuts import render
from django.utils import timezone

from crm import selectors
from crm.choices import DEFAULT_CURRENCY
from crm.filtersets import OpportunityFilter
from crm.permissions import VIEW_ROLES
from psa.core.dates import date_param
from psa.core.roles import role_required


def _filtered(request):
    """The forecast adds amounts, so it reads one currency at a time (default: the firm's, DEFAULT_CURRENCY)."""
    data = request.GET.copy()
    if not data.get("currency"):
        data["currency"] = DEFAULT_CURRENCY
    filterset = OpportunityFilter(data, queryset=selectors.opportunities_for(request.user))
    queryset = filterset.qs if filterset.is_valid() else filterset.queryset.filter(currency=DEFAULT_CURRENCY)
    return filterset, queryset, data["currency"]


@role_required(*VIEW_ROLES)
def forecast(request):
    filterset, queryset, currency = _filtered(request)
    months = selectors.forecast_by_month(queryset)
    chart = {
        "id": "forecast-chart",
        "type": "bar",
        "data": {
            "labels": [m["month"].strftime("%b %Y") for m in months],
            "datasets": [
                {
                    "label": "Weighted",
                    "data": [str(m["weighted"]) for m in months],
                    "backgroundColor": "rgba(13, 110, 253, 0.75)",
                },
                {
                    "label": "Unweighted",
                    "data": [str(m["pipeline"]) for m in months],
                    "backgroundColor": "rgba(108, 117, 125, 0.25)",
                },
            ],
        },
        "options": {"scales": {"y": {"beginAtZero": True}}, "plugins": {"legend": {"position": "bottom"}}},
    }
    return render(
        request,
        "crm/forecast.html",
        {
            "filter": filterset,
            "months": months,
            "owners": selectors.forecast_by_owner(queryset),
            "stages": selectors.forecast_by_stage(queryset),
            "stats": selectors.win_stats(queryset),
            "currency": currency,
            "chart": chart,
            "total_amount": sum((m["pipeline"] for m in months), 0),
            "total_weighted": sum((m["weighted"] for m in months), 0),
        },
    )


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
