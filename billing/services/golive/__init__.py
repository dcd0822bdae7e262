"""Go-live: a firm moving in with its history (see base.py for the framework). IMPORTERS lists every import
kind explicitly; an importer is an object with kind, label, columns, optional_columns, check and apply."""

from billing.services.golive.base import (
    UNDO,
    GoLiveContext,
    Importer,
    golive_import,
    golive_rollback,
)
from billing.services.golive.contracts import CONTRACTS
from billing.services.golive.lifecycle import golive_complete, golive_create, golive_reconcile
from billing.services.golive.parties import PARTIES
from billing.services.golive.payables import VENDOR_BILLS
from billing.services.golive.unbilled import UNBILLED_EXPENSES, UNBILLED_TIME

IMPORTERS: dict[str, Importer] = {
    PARTIES.kind: PARTIES,
    CONTRACTS.kind: CONTRACTS,
    UNBILLED_TIME.kind: UNBILLED_TIME,
    UNBILLED_EXPENSES.kind: UNBILLED_EXPENSES,
    VENDOR_BILLS.kind: VENDOR_BILLS,
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
