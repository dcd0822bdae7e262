"""Ledger pages, for finance (and admin). Views collect input and call services or selectors; nothing more."""

from ledger.views.books import (
    account_form,
    account_ledger,
    account_list,
    export,
    period_close_view,
    period_list,
    period_reopen_view,
    periods_earlier_view,
    periods_ensure_view,
)
from ledger.views.journal import audit_list, entry_create, entry_detail, entry_list, entry_reverse_view
from ledger.views.reports import balance_sheet_view, pnl_view, trial_balance_view

__all__ = [
    "account_form",
    "account_ledger",
    "account_list",
    "audit_list",
    "balance_sheet_view",
    "entry_create",
    "entry_detail",
    "entry_list",
    "entry_reverse_view",
    "export",
    "period_close_view",
    "period_list",
    "period_reopen_view",
    "periods_earlier_view",
    "periods_ensure_view",
    "pnl_view",
    "trial_balance_view",
]
