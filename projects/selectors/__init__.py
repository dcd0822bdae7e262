"""projects reads that are more than a filter: rate-card overlaps (projects.selectors.rates), the reads for
time (projects.selectors.time) and for staffing and utilization (projects.selectors.staffing). This module
only re-exports them."""

from projects.selectors.engagement import deal_correlation_id
from projects.selectors.rates import rate_card_line_overlap
from projects.selectors.staffing import (
    CONSULTANT_NAME,
    Candidate,
    HeatRow,
    UtilRow,
    capacity_and_booked,
    capacity_heatmap,
    consultant_search,
    request_remaining,
    role_bench_vs_demand,
    staffing_suggestions,
    utilization,
    utilization_actuals,
)
from projects.selectors.time import (
    GridRow,
    MissingTime,
    WeekGrid,
    allocations_for,
    approval_groups,
    approval_queue,
    approver_consultants,
    approver_projects,
    expense_queue,
    expenses_for,
    missing_time,
    time_entries_for,
    time_off_hours,
    timesheet_week,
    week_warnings,
)

__all__ = [
    "CONSULTANT_NAME",
    "Candidate",
    "GridRow",
    "HeatRow",
    "MissingTime",
    "UtilRow",
    "WeekGrid",
    "allocations_for",
    "approval_groups",
    "approval_queue",
    "approver_consultants",
    "approver_projects",
    "capacity_and_booked",
    "capacity_heatmap",
    "consultant_search",
    "deal_correlation_id",
    "expense_queue",
    "expenses_for",
    "missing_time",
    "rate_card_line_overlap",
    "request_remaining",
    "role_bench_vs_demand",
    "staffing_suggestions",
    "time_entries_for",
    "time_off_hours",
    "timesheet_week",
    "utilization",
    "utilization_actuals",
    "week_warnings",
]
