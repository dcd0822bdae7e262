"""Go-live: a firm moving in with its history (see base.py for the framework).

IMPORTERS lists every import kind explicitly, in the order a go-live usually takes them; an importer is an object
with kind, label, columns, optional_columns, check and apply. UNDO lists how the objects of a model are undone on
rollback when deleting them is not the way (model label -> function(ids, ctx)).
"""

from collections.abc import Callable

from billing.services.golive.balances import BALANCE_HISTORY, OPENING_BALANCES
from billing.services.golive.base import (
    GoLiveContext,
    Importer,
    golive_import,
    golive_rollback,
)
from billing.services.golive.chart import CHART
from billing.services.golive.contracts import CONTRACTS, projects_remove
from billing.services.golive.lifecycle import golive_complete, golive_create, golive_reconcile
from billing.services.golive.parties import PARTIES
from billing.services.golive.parties import accounts_remove as customers_remove
from billing.services.golive.payables import VENDOR_BILLS
from billing.services.golive.periods import PERIODS
from billing.services.golive.receivables import RECEIVABLES, imported_invoices_remove
from billing.services.golive.unbilled import UNBILLED_EXPENSES, UNBILLED_TIME
from billing.services.golive.undo import accounts_remove, closes_remove, entries_reverse, periods_remove

IMPORTERS: dict[str, Importer] = {
    CHART.kind: CHART,
    PERIODS.kind: PERIODS,
    OPENING_BALANCES.kind: OPENING_BALANCES,
    BALANCE_HISTORY.kind: BALANCE_HISTORY,
    PARTIES.kind: PARTIES,
    RECEIVABLES.kind: RECEIVABLES,
    CONTRACTS.kind: CONTRACTS,
    UNBILLED_TIME.kind: UNBILLED_TIME,
    UNBILLED_EXPENSES.kind: UNBILLED_EXPENSES,
    VENDOR_BILLS.kind: VENDOR_BILLS,
}

UNDO: dict[str, Callable[[list[int], GoLiveContext], None]] = {
    "ledger.JournalEntry": entries_reverse,
    "ledger.LedgerAccount": accounts_remove,
    "ledger.PeriodClose": closes_remove,
    "ledger.AccountingPeriod": periods_remove,
    "billing.Invoice": imported_invoices_remove,
    "crm.Account": customers_remove,
    "projects.Project": projects_remove,
}

__all__ = [
    "IMPORTERS",
    "UNDO",
    "GoLiveContext",
    "Importer",
    "golive_complete",
    "golive_create",
    "golive_import",
    "golive_reconcile",
    "golive_rollback",
]
