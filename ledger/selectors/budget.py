"""Budget against actual with the PM's estimate to complete: the estimates live here, in the ledger, so the
forecast by estimate is read here and handed to `projects.selectors.budget.budget_vs_actual`."""

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from ledger.models import ProjectEstimate
from projects.selectors.budget import RUN_RATE_WEEKS, ProjectBudget, budget_vs_actual


def latest_etc_hours(*, project_ids: Iterable[int], as_of: date) -> dict[int, Decimal]:
    """The latest estimate to complete (hours) on or before `as_of` per project that has one: one query."""
    rows = (
        ProjectEstimate.objects.filter(project_id__in=list(project_ids), as_of__lte=as_of)
        .order_by("project_id", "-as_of")
        .distinct("project_id")
        .values_list("project_id", "etc_hours")
    )
    return dict(rows)


def budget_with_estimates(
    *, project_ids: Iterable[int], as_of: date, weeks: int = RUN_RATE_WEEKS
) -> dict[int, ProjectBudget]:
    """`budget_vs_actual` whose project forecast comes from the PM's latest estimate where there is one, else
    from the run-rate (the method is on the figure): six queries whatever the number of projects."""
    ids = list(project_ids)
    return budget_vs_actual(
        project_ids=ids, as_of=as_of, weeks=weeks, etc_hours=latest_etc_hours(project_ids=ids, as_of=as_of)
    )
