"""Invoices reduced by credit notes and not paid at all read "partly credited" instead of "partly paid".

The status column (and its history) widens to hold the new value, the check constraint lists it, and invoices
already marked partly paid with nothing paid are moved, each with a history row saying why.
"""

from django.conf import settings
from django.db import migrations, models


def partly_paid_without_payment_to_partly_credited(apps, schema_editor):
    Invoice = apps.get_model("billing", "Invoice")
    InvoiceHistory = apps.get_model("billing", "InvoiceHistory")
    moved = Invoice.objects.filter(kind="invoice", status="partly_paid", amount_paid=0, amount_credited__gt=0)
    ids = list(moved.values_list("pk", flat=True))
    InvoiceHistory.objects.bulk_create(
        InvoiceHistory(
            invoice_id=pk,
            from_status="partly_paid",
            to_status="partly_credited",
            note="Status renamed: reduced by a credit note, nothing paid",
        )
        for pk in ids
    )
    Invoice.objects.filter(pk__in=ids).update(status="partly_credited")


def partly_credited_back_to_partly_paid(apps, schema_editor):
    Invoice = apps.get_model("billing", "Invoice")
    Invoice.objects.filter(status="partly_credited").update(status="partly_paid")


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0004_run_item_kinds'),
        ('crm', '0004_opportunity_delivery_manager'),
        ('ledger', '0005_loss_provision_account'),
        ('projects', '0005_time_entry_cells'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='invoice',
            name='billing_invoice_status_valid',
        ),
        migrations.AlterField(
            model_name='invoice',
            name='status',
            field=models.CharField(choices=[('draft', 'Draft'), ('issued', 'Issued'), ('partly_credited', 'Partly credited'), ('partly_paid', 'Partly paid'), ('paid', 'Paid'), ('credited', 'Credited'), ('written_off', 'Written off'), ('cancelled', 'Cancelled')], default='draft', max_length=20),
        ),
        migrations.AlterField(
            model_name='invoicehistory',
            name='from_status',
            field=models.CharField(blank=True, max_length=20),
        ),
        migrations.AlterField(
            model_name='invoicehistory',
            name='to_status',
            field=models.CharField(max_length=20),
        ),
        migrations.AddConstraint(
            model_name='invoice',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['draft', 'issued', 'partly_credited', 'partly_paid', 'paid', 'credited', 'written_off', 'cancelled'])), name='billing_invoice_status_valid'),
        ),
        migrations.RunPython(partly_paid_without_payment_to_partly_credited, partly_credited_back_to_partly_paid),
    ]
