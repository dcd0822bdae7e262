"""Home panels of the pipeline: a rep's own pipeline, and the firm's weighted forecast for the roles that plan
with it. Each provider issues a fixed number of queries."""

from datetime import date

from django.db.models import Count, Q, Sum
from django.urls import reverse
from django.utils import timezone

from crm.choices import DEFAULT_CURRENCY, OpportunityStatus
from crm.models import Opportunity
from crm.permissions import can_view_pipeline
from crm.selectors import WEIGHTED, forecast_by_month
from psa.core.roles import Role, has_role, user_roles
from psa.core.templatetags.psa_ui import money
from psa.core.ui import Figure, Panel


def my_pipeline(user) -> Panel | None:
    if Role.SALES not in user_roles(user):
        return None
    today = timezone.localdate()
    month_start = today.replace(day=1)
    mine = Opportunity.objects.filter(owner=user)
    per_currency = (
        mine.filter(status=OpportunityStatus.OPEN)
        .order_by()
        .values("currency")
        .annotate(pipeline=Sum("amount"), weighted=Sum(WEIGHTED))
        .order_by("-pipeline")
    )
    stats = mine.aggregate(
        open=Count("id", filter=Q(status=OpportunityStatus.OPEN)),
        overdue=Count("id", filter=Q(status=OpportunityStatus.OPEN, expected_close_date__lt=today)),
        won_month=Count("id", filter=Q(status=OpportunityStatus.WON, closed_at__date__gte=month_start)),
    )
    board = reverse("crm:board")
    return Panel(
        title="My pipeline",
        figures=[
            Figure("Open deals", stats["open"], url=f"{board}?owner={user.pk}"),
            *[
                Figure(
                    f"Weighted {row['currency']}",
                    money(row["weighted"] or 0),
                    hint=f"of {money(row['pipeline'] or 0)} open",
                    url=f"{reverse('crm:forecast')}?currency={row['currency']}&owner={user.pk}",
                )
                for row in per_currency
            ],
            Figure(
                "Past close date",
                stats["overdue"],
                tone="warning" if stats["overdue"] else "",
                url=f"{reverse('crm:opportunities')}?owner={user.pk}&status=open&sort=close",
            ),
            Figure("Won this month", stats["won_month"], tone="success" if stats["won_month"] else ""),
        ],
        width=6,
        order=10,
    )


def weighted_forecast(user) -> Panel | None:
    if not can_view_pipeline(user) or not has_role(user, Role.SALES, Role.FINANCE, Role.PROJECT_MANAGER):
        return None
    start = timezone.localdate().replace(day=1)
    end = date(start.year + (start.month + 5) // 12, (start.month + 5) % 12 + 1, 1)
    months = forecast_by_month(
        Opportunity.objects.filter(
            currency=DEFAULT_CURRENCY, expected_close_date__gte=start, expected_close_date__lt=end
        )
    )
    return Panel(
        title=f"Weighted pipeline ({DEFAULT_CURRENCY}), next six months",
        chart={
            "id": "home-forecast-chart",
            "type": "bar",
            "data": {
                "labels": [m["month"].strftime("%b %Y") for m in months],
                "datasets": [
                    {"label": "Weighted", "data": [str(m["weighted"]) for m in months], "backgroundColor": "#0d6efd"}
                ],
            },
            "options": {"plugins": {"legend": {"display": False}}, "scales": {"y": {"beginAtZero": True}}},
        },
        empty="No open deals close in the next six months.",
        width=6,
        order=11,
    )


PROVIDERS = [my_pipeline, weighted_forecast]
