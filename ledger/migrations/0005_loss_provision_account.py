"""The provision for contract losses (fixed-fee lines whose expected cost exceeds the price)."""

from django.db import migrations


def create_account(apps, schema_editor):
    LedgerAccount = apps.get_model("ledger", "LedgerAccount")
    LedgerAccount.objects.get_or_create(
        code="2400",
        defaults={
            "name": "Provision for contract losses",
            "type": "liability",
            "system_role": None,
            "is_control": True,
        },
    )


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_revenue_recognition")]

    operations = [migrations.RunPython(create_account, migrations.RunPython.noop)]
