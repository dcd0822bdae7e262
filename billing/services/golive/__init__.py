"""Go-live: a firm moving in with its history (see base.py for the framework). IMPORTERS lists every import
kind explicitly; an importer is an object with kind, label, columns, optional_columns, check and apply."""

from billing.services.golive.base import (
    UNDO,
    GoLiveContext,
    Importer,
    golive_import,
    golive_rollback,
)
from billing.services.golive.lifecycle import golive_complete, golive_create, golive_reconcile

IMPORTERS: dict[str, Importer] = {}

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
