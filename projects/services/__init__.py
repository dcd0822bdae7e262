"""projects writes: the closed-won handoff, projects, milestones, change orders and rate cards."""

from projects.services.engagement import (
    change_order_approve,
    change_order_create,
    change_order_reject,
    change_order_submit,
    milestone_accept,
    milestone_achieve,
    project_alert_levels_set,
    project_transition,
)
from projects.services.handoff import WinResult, opportunity_win
from projects.services.rates import rate_card_create, rate_card_line_create

__all__ = [
    "WinResult",
    "change_order_approve",
    "change_order_create",
    "change_order_reject",
    "change_order_submit",
    "milestone_accept",
    "milestone_achieve",
    "opportunity_win",
    "project_alert_levels_set",
    "project_transition",
    "rate_card_create",
    "rate_card_line_create",
]
