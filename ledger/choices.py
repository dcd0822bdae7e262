"""Ledger choices: account types, period statuses and their transitions, entry origins."""

from django.db import models

from psa.conf import settings_value

# The ledger's one functional currency (DESIGN.md section 4: no implicit FX).
FUNCTIONAL_CURRENCY: str = settings_value("PSA_FUNCTIONAL_CURRENCY")

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
BEANCOUNT_ROOTS: dict[str, str] = {
    AccountType.ASSET: "Assets",
    AccountType.LIABILITY: "Liabilities",
    AccountType.EQUITY: "Equity",
    AccountType.INCOME: "Income",
    AccountType.EXPENSE: "Expenses",
}


class PeriodStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


PERIOD_TRANSITIONS: dict[str, tuple[str, ...]] = {
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
    FX_REALISED_GAIN = "fx_realised_gain", "Realised exchange gains"
    FX_REALISED_LOSS = "fx_realised_loss", "Realised exchange losses"
    FX_UNREALISED_GAIN = "fx_unrealised_gain", "Unrealised exchange gains"
    FX_UNREALISED_LOSS = "fx_unrealised_loss", "Unrealised exchange losses"
    IC_RECEIVABLE = "ic_receivable", "Intercompany receivable"
    IC_PAYABLE = "ic_payable", "Intercompany payable"
    IC_REVENUE = "ic_revenue", "Intercompany revenue"
    TRANSLATION_RESERVE = "translation_reserve", "Translation reserve"
    # The cost side (DESIGN.md section 10): labour cost, expense claims, vendor bills and their payment.
    PAYABLE = "payable", "Accounts payable"
    INPUT_VAT = "input_vat", "Input VAT"
    REVERSE_CHARGE_VAT = "reverse_charge_vat", "Reverse-charge VAT payable"
    LABOUR_ABSORBED = "labour_absorbed", "Labour cost absorbed"
    EXPENSE_CLAIMS = "expense_claims", "Expense claims payable"
    SUBCONTRACT_ACCRUAL = "subcontract_accrual", "Accrued subcontractor costs"
    REBILLABLE_COSTS = "rebillable_costs", "Re-billable costs"
    # Retainage (DESIGN.md section 10): the held-back part of an invoice, owed but not yet due, until released.
    RETAINAGE_RECEIVABLE = "retainage_receivable", "Retainage receivable"


# The accounts whose balance on a project's dimension is that project's cost (one margin, DESIGN.md 5.13):
# labour, subcontractors, expenses and vendor bills, whether or not re-billed.
PROJECT_COST_ROLES = (SystemAccount.COST_OF_SERVICES, SystemAccount.REBILLABLE_COSTS)


class BudgetAlertKind(models.TextChoices):
    """What a burn alert is about (ledger.services.budget_alerts)."""

    HOURS_WARNING = "hours_warning", "Hours at the warning level"
    HOURS_OVER = "hours_over", "Hours at the budget"
    AMOUNT_WARNING = "amount_warning", "Amount at the warning level"
    AMOUNT_OVER = "amount_over", "Amount at the budget"
    FORECAST_OVER = "forecast_over", "Forecast at completion above budget"


class RecognitionMethod(models.TextChoices):
    """How a contract line's revenue is recognised (DESIGN.md section 6)."""

    AS_DELIVERED = "as_delivered", "As delivered (approved hours x snapshot rate, plus re-billed expenses)"
    PERCENT_HOURS = "percent_hours", "Percent complete, hours to hours"
    PERCENT_COST = "percent_cost", "Percent complete, cost to cost"
    MILESTONE = "milestone", "At milestone acceptance"
    STRAIGHT_LINE = "straight_line", "Straight-line over the service period"


# Which methods fit which billing model (crm.choices.BillingModel values); the first is the default at handoff.
METHODS_BY_BILLING_MODEL: dict[str, tuple[str, ...]] = {
    "tm": (RecognitionMethod.AS_DELIVERED,),
    "fixed_fee": (RecognitionMethod.PERCENT_HOURS, RecognitionMethod.PERCENT_COST, RecognitionMethod.STRAIGHT_LINE),
    "milestone": (RecognitionMethod.MILESTONE,),
    "retainer": (RecognitionMethod.STRAIGHT_LINE,),
    "subscription": (RecognitionMethod.STRAIGHT_LINE,),
}
# Methods whose schedule has planned amounts per month that must sum to the line's price.
PLANNED_METHODS = frozenset({RecognitionMethod.STRAIGHT_LINE})
PERCENT_METHODS = frozenset({RecognitionMethod.PERCENT_HOURS, RecognitionMethod.PERCENT_COST})


class RecognitionRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    DONE_WITH_ERRORS = "done_with_errors", "Done with errors"
    FAILED = "failed", "Failed"


class RevaluationRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    UNCHANGED = "unchanged", "Done, nothing new to post"
    FAILED = "failed", "Failed"


class CostRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    DONE_WITH_ERRORS = "done_with_errors", "Done with errors"
    UNCHANGED = "unchanged", "Done, nothing new to post"
    FAILED = "failed", "Failed"


# The `source` of every labour-cost entry (ledger.services.cost_posting): "labour-cost:<YYYY-MM>:<project id>",
# the month the work was done in and the project; one entry per project and month, plus one difference entry per
# later run that found the month's cost changed (idempotency key: the source + ":<n>").
LABOUR_COST_SOURCE = "labour-cost:"
# Vendor bills post their project cost with a source starting with this (billing's accounts payable); the project
# cost to date (ledger.selectors.project_cost) reads those lines from the GL.
VENDOR_BILL_SOURCE = "vendor-bill:"


class IntercompanyRunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    UNCHANGED = "unchanged", "Done, nothing new to post"
    FAILED = "failed", "Failed"


# The `source` of every intercompany recharge entry starts with this (ledger.services.intercompany):
# "ic-recharge:<YYYY-MM>:<supplying entity id>-<receiving entity id>:<side>".
IC_RECHARGE_SOURCE = "ic-recharge:"
IC_SUPPLIER_SIDE = "supplier"
IC_RECEIVER_SIDE = "receiver"


# The monetary accounts the month-end revaluation revalues, by system role (ledger.services.revaluation). Accounts
# payable joins by adding its role here once the chart has one.
REVALUED_ROLES: tuple[str, ...] = (SystemAccount.RECEIVABLE, SystemAccount.CASH)


# The provision for contract losses (fixed-fee lines whose expected cost exceeds the price). Found by code: adding
# a system role would change the audited history table of accounts, which belongs to the composition layer.
LOSS_PROVISION_CODE = "2400"
