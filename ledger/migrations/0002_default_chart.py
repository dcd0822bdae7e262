"""The default chart of accounts (DESIGN.md section 6 plus the usual operating accounts).

Control accounts take postings from the system only (invoices, payments, recognition); `system_role` names the
account each posting rule uses, so finance may renumber or rename accounts freely.
"""

from django.db import migrations

# code, name, type, system role, control
CHART = [
    ("1000", "Cash", "asset", "cash", False),
    ("1100", "Accounts receivable", "asset", "receivable", True),
    ("1150", "Unbilled receivable", "asset", "unbilled", True),
    ("1200", "Prepaid expenses", "asset", None, False),
    ("1500", "Equipment", "asset", None, False),
    ("2000", "Accounts payable", "liability", None, False),
    ("2100", "Tax payable", "liability", "tax_payable", True),
    ("2200", "Deferred revenue", "liability", "deferred", True),
    ("2300", "Accrued expenses", "liability", None, False),
    ("3000", "Owner's equity", "equity", "equity", False),
    ("3100", "Retained earnings", "equity", None, False),
    ("4000", "Services revenue", "income", "services_revenue", False),
    ("4100", "Expense reimbursement revenue", "income", "reimbursement_revenue", False),
    ("5000", "Cost of services", "expense", "cost_of_services", False),
    ("5100", "Salaries", "expense", None, False),
    ("6000", "Rent", "expense", None, False),
    ("6100", "Software and subscriptions", "expense", None, False),
    ("6200", "Travel", "expense", None, False),
    ("6900", "Write-offs", "expense", "write_offs", False),
]


def create_chart(apps, schema_editor):
    LedgerAccount = apps.get_model("ledger", "LedgerAccount")
    for code, name, type_, role, control in CHART:
        LedgerAccount.objects.get_or_create(
            code=code, defaults={"name": name, "type": type_, "system_role": role, "is_control": control}
        )


def remove_chart(apps, schema_editor):
    LedgerAccount = apps.get_model("ledger", "LedgerAccount")
    LedgerAccount.objects.filter(code__in=[c[0] for c in CHART], lines__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunPython(create_chart, remove_chart)]
