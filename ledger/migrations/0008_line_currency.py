"""Journal lines keep their transaction currency, amount and rate (DESIGN.md invariant 11).

Lines posted before this migration are in the functional currency: currency = PSA_FUNCTIONAL_CURRENCY, amount =
the functional amount, rate 1. Journal lines are immutable (a trigger refuses UPDATE); the backfill lifts that
trigger for its one UPDATE inside this migration's transaction and puts it back.
"""


from django.conf import settings
from django.db import migrations, models



def backfill(apps, schema_editor):
    line = apps.get_model("ledger", "JournalLine")
    table = line._meta.db_table
    postgres = schema_editor.connection.vendor == "postgresql"
    with schema_editor.connection.cursor() as cursor:
        if postgres:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER ledger_line_immutable")
        cursor.execute(
            f"UPDATE {table} SET currency = %s, amount_currency = debit + credit, rate = 1",
            [settings.PSA_FUNCTIONAL_CURRENCY],
        )
        if postgres:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER ledger_line_immutable")


class Migration(migrations.Migration):
    dependencies = [("ledger", "0007_history_events")]

    operations = [
        migrations.AddField(
            model_name="journalline",
            name="currency",
            field=models.CharField(max_length=3, null=True, help_text="The transaction currency (ISO 4217)."),
        ),
        migrations.AddField(
            model_name="journalline",
            name="amount_currency",
            field=models.DecimalField(decimal_places=2, max_digits=18, null=True),
        ),
        migrations.AddField(
            model_name="journalline",
            name="rate",
            field=models.DecimalField(decimal_places=10, max_digits=24, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="journalline",
            name="currency",
            field=models.CharField(help_text="The transaction currency (ISO 4217).", max_length=3),
        ),
        migrations.AlterField(
            model_name="journalline",
            name="amount_currency",
            field=models.DecimalField(
                decimal_places=2,
                help_text="The amount in the transaction currency, on the line's side; 0 on an exchange-difference "
                "line, which moves only the functional amount.",
                max_digits=18,
            ),
        ),
        migrations.AlterField(
            model_name="journalline",
            name="rate",
            field=models.DecimalField(
                decimal_places=10,
                help_text="Functional units per transaction unit the line was converted at (1 when the same).",
                max_digits=24,
            ),
        ),
        migrations.AddConstraint(
            model_name="journalline",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount_currency__gte", 0)), name="ledger_line_amount_currency_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="journalline",
            constraint=models.CheckConstraint(condition=models.Q(("rate__gt", 0)), name="ledger_line_rate_positive"),
        ),
    ]
