"""The default chart of accounts (DESIGN.md section 6 plus the usual operating accounts).

Migration 0002 creates it with its own frozen copy; `chart_ensure_default` restores missing accounts (the demo
seed and tests that start from an emptied database call it). Control accounts take postings from the system
only; `system_role` names the account each posting rule uses, so finance may renumber or rename accounts.
"""

from ledger.models import LedgerAccount

# code, name, type, system role, control
DEFAULT_CHART = [
    ("1000", "Cash", "asset", "cash", False),
    ("1100", "Accounts receivable", "asset", "receivable", True),
    ("1120", "Retainage receivable", "asset", "retainage_receivable", True),
    ("1150", "Unbilled receivable", "asset", "unbilled", True),
    ("1200", "Prepaid expenses", "asset", None, False),
    ("1300", "Intercompany receivable", "asset", "ic_receivable", True),
    ("1400", "Input VAT", "asset", "input_vat", True),
    ("1500", "Equipment", "asset", None, False),
    ("2000", "Accounts payable", "liability", "payable", True),
    ("2100", "Tax payable", "liability", "tax_payable", True),
    ("2110", "Reverse-charge VAT payable", "liability", "reverse_charge_vat", True),
    ("2150", "Accrued subcontractor costs", "liability", "subcontract_accrual", True),
    ("2200", "Deferred revenue", "liability", "deferred", True),
    ("2300", "Accrued expenses", "liability", None, False),
    ("2350", "Expense claims payable", "liability", "expense_claims", True),
    ("2400", "Provision for contract losses", "liability", None, True),
    ("2500", "Intercompany payable", "liability", "ic_payable", True),
    ("3000", "Owner's equity", "equity", "equity", False),
    ("3100", "Retained earnings", "equity", None, False),
    ("3200", "Translation reserve", "equity", "translation_reserve", True),
    ("4000", "Services revenue", "income", "services_revenue", False),
    ("4100", "Expense reimbursement revenue", "income", "reimbursement_revenue", False),
    ("4200", "Intercompany revenue", "income", "ic_revenue", True),
    ("5000", "Cost of services", "expense", "cost_of_services", False),
    ("5050", "Re-billable costs", "expense", "rebillable_costs", False),
    ("5100", "Salaries", "expense", None, False),
    ("5150", "Labour cost absorbed", "expense", "labour_absorbed", True),
    ("6000", "Rent", "expense", None, False),
    ("6100", "Software and subscriptions", "expense", None, False),
    ("6200", "Travel", "expense", None, False),
    ("6900", "Write-offs", "expense", "write_offs", False),
    ("7100", "Realised exchange gains", "income", "fx_realised_gain", False),
    ("7150", "Unrealised exchange gains", "income", "fx_unrealised_gain", False),
    ("7200", "Realised exchange losses", "expense", "fx_realised_loss", False),
    ("7250", "Unrealised exchange losses", "expense", "fx_unrealised_loss", False),
]


def chart_ensure_default() -> int:
    """Create the default accounts that are missing (by code or role); returns how many were created."""
    have_codes = set(LedgerAccount.objects.values_list("code", flat=True))
    have_roles = set(LedgerAccount.objects.exclude(system_role=None).values_list("system_role", flat=True))
    missing = [
        LedgerAccount(code=code, name=name, type=type_, system_role=role, is_control=control)
        for code, name, type_, role, control in DEFAULT_CHART
        if code not in have_codes and (role is None or role not in have_roles)
    ]
    LedgerAccount.objects.bulk_create(missing)
    return len(missing)
