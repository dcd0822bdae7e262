"""Ledger choices: account types, period statuses and their transitions, entry origins."""

from django.conf import settings
from django.db import models

from crm.choices import DEFAULT_CURRENCY

# The ledger's one functional currency (DESIGN.md section 4: no implicit FX).
FUNCTIONAL_CURRENCY: str = getattr(settings, "PSA_FUNCTIONAL_CURRENCY", DEFAULT_CURRENCY)

# The journal's number series in psa.core.numbering (JE-2026-000001).
JOURNAL_SERIES = "JE"


class AccountType(models.TextChoices):
    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    EQUITY = "equity", "Equity"
    INCOME = "income", "Income"
    EXPENSE = "expense", "Expense"


# Accounts whose balance is normally a debit; the others are normally a credit.
DEBIT_NORMAL = frozenset({AccountType.ASSET, AccountType.EXPENSE})
BALANCE_SHEET_TYPES = (AccountType.ASSET, AccountType.LIABILITY, AccountType.EQUITY)
PNL_TYPES = (AccountType.INCOME, AccountType.EXPENSE)

# The root of each type in a beancount export.
BEANCOUNT_ROOTS = {
    AccountType.ASSET: "Assets",
    AccountType.LIABILITY: "Liabilities",
    AccountType.EQUITY: "Equity",
    AccountType.INCOME: "Income",
    AccountType.EXPENSE: "Expenses",
}


class PeriodStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


PERIOD_TRANSITIONS = {
    PeriodStatus.OPEN: (PeriodStatus.CLOSED,),
    PeriodStatus.CLOSED: (PeriodStatus.OPEN,),
}


class EntryOrigin(models.TextChoices):
    MANUAL = "manual", "Manual"
    SYSTEM = "system", "System"
    REVERSAL = "reversal", "Reversal"


class SystemAccount(models.TextChoices):
    """Roles the posting rules (DESIGN.md section 6) look accounts up by, so codes stay editable."""

    CASH = "cash", "Cash"
    RECEIVABLE = "receivable", "Accounts receivable"
    UNBILLED = "unbilled", "Unbilled receivable"
    DEFERRED = "deferred", "Deferred revenue"
    TAX_PAYABLE = "tax_payable", "Tax payable"
    EQUITY = "equity", "Owner's equity"
    SERVICES_REVENUE = "services_revenue", "Services revenue"
    REIMBURSEMENT_REVENUE = "reimbursement_revenue", "Expense reimbursement revenue"
    COST_OF_SERVICES = "cost_of_services", "Cost of services"
    WRITE_OFFS = "write_offs", "Write-offs"
