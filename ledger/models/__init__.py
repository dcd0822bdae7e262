"""The ledger's models: the books (books.py), revenue recognition (revenue.py), burn alerts (budget.py), labour
cost runs (cost.py) and intercompany time (intercompany.py), re-exported here."""

from ledger.models.books import (
    AccountBalance,
    AccountingPeriod,
    JournalEntry,
    JournalLine,
    LedgerAccount,
    PeriodClose,
)
from ledger.models.budget import BudgetAlert
from ledger.models.cost import CostPostingRun
from ledger.models.history import HistoricalBalance
from ledger.models.intercompany import IntercompanyRun, TransferRate
from ledger.models.revaluation import RevaluationRun
from ledger.models.revenue import (
    PriceReduction,
    ProjectEstimate,
    RebilledCost,
    Recognition,
    RecognitionRun,
    RevenueSchedule,
    RevenueScheduleLine,
)

__all__ = [
    "AccountBalance",
    "AccountingPeriod",
    "BudgetAlert",
    "CostPostingRun",
    "HistoricalBalance",
    "IntercompanyRun",
    "JournalEntry",
    "JournalLine",
    "LedgerAccount",
    "PeriodClose",
    "PriceReduction",
    "ProjectEstimate",
    "RebilledCost",
    "Recognition",
    "RecognitionRun",
    "RevaluationRun",
    "RevenueSchedule",
    "RevenueScheduleLine",
    "TransferRate",
]
