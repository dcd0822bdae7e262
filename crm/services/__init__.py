"""crm writes. Import from here: `from crm import services` / `services.opportunity_move(...)`."""

from crm.services.accounts import account_create, account_update, contact_create, contact_update
from crm.services.credit import (
    credit_check_for_win,
    credit_deal_approve,
    credit_hold_place,
    credit_hold_release,
    credit_limit_set,
)
from crm.services.imports import ImportReport, csv_import
from crm.services.pipeline import (
    ensure_may_change,
    line_milestone_add,
    opportunity_create,
    opportunity_line_add,
    opportunity_line_remove,
    opportunity_lose,
    opportunity_mark_won,
    opportunity_move,
    opportunity_reopen,
    opportunity_update,
    role_demand_add,
    role_demand_remove,
)
from crm.services.vendors import vendor_create, vendor_update

__all__ = [
    "ImportReport",
    "account_create",
    "account_update",
    "contact_create",
    "contact_update",
    "credit_check_for_win",
    "credit_deal_approve",
    "credit_hold_place",
    "credit_hold_release",
    "credit_limit_set",
    "csv_import",
    "ensure_may_change",
    "line_milestone_add",
    "opportunity_create",
    "opportunity_line_add",
    "opportunity_line_remove",
    "opportunity_lose",
    "opportunity_mark_won",
    "opportunity_move",
    "opportunity_reopen",
    "opportunity_update",
    "role_demand_add",
    "role_demand_remove",
    "vendor_create",
    "vendor_update",
]
