"""Tell the ledger about the price-cutting credit notes issued before it kept them (ledger.PriceReduction): one row
per issued credit note with a project whose plain-amount lines (no credited line) sum to a non-zero net, as
billing.services.posting.invoice_post records from now on."""

from django.db import migrations
from django.db.models import Sum

FINAL_STATUSES = ("issued", "partly_credited", "partly_paid", "paid", "credited", "written_off")


def backfill(apps, schema_editor):
    InvoiceLine = apps.get_model("billing", "InvoiceLine")
    PriceReduction = apps.get_model("ledger", "PriceReduction")
    rows = (
        InvoiceLine.objects.filter(
            invoice__kind="credit_note",
            invoice__status__in=FINAL_STATUSES,
            invoice__project_id__isnull=False,
            credited_line__isnull=True,
        )
        .values("invoice_id", "invoice__project_id", "invoice__issue_date")
        .annotate(total=Sum("net"))
        .order_by("invoice_id")
    )
    PriceReduction.objects.bulk_create(
        [
            PriceReduction(
                project_id=r["invoice__project_id"],
                on=r["invoice__issue_date"],
                amount=r["total"],
                source=f"invoice:{r['invoice_id']}",
            )
            for r in rows
            if r["total"]
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0009_rename_allocation_paymentallocation"),
        ("ledger", "0006_price_reduction"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
