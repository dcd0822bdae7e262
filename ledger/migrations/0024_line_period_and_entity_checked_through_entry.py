"""A journal line's period and legal entity are checked through its entry, not by foreign keys of their own.

A line carries its entry's date, period and entity (copied so that reports filter and prune lines without a
join). The line's insert trigger (`ledger_refuse_closed_period`, migration 0023) refuses a line whose period or
entity is not its entry's, and the entry's own foreign keys hold both to existing rows: a period or entity can
be deleted only once no entry refers to it, and entries and lines are never changed or deleted (the
immutability triggers). The line's own two foreign keys therefore checked nothing new, while each posted line
queued two checks for the commit: about a tenth of a posting's cost at commit. They are dropped; the entry,
account, client and project keys stay.

On PostgreSQL only: SQLite keeps its table as it was created (dropping a key there means rebuilding the table)."""

import django.db.models.deletion
from django.db import migrations, models

KEYS = {
    "ledger_journalline_period_id_44bf687c_fk_ledger_ac": (
        'FOREIGN KEY ("period_id") REFERENCES "ledger_accountingperiod" ("id") DEFERRABLE INITIALLY DEFERRED'
    ),
    "ledger_journalline_entity_id_bab71eea_fk_core_legalentity_id": (
        'FOREIGN KEY ("entity_id") REFERENCES "core_legalentity" ("id") DEFERRABLE INITIALLY DEFERRED'
    ),
}


def _drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name in KEYS:
            schema_editor.execute(f'ALTER TABLE "ledger_journalline" DROP CONSTRAINT IF EXISTS "{name}"')


def _add(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for name, definition in KEYS.items():
            schema_editor.execute(f'ALTER TABLE "ledger_journalline" ADD CONSTRAINT "{name}" {definition}')


class Migration(migrations.Migration):
    dependencies = [("ledger", "0023_posting_checks_read_less")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="journalline",
                    name="entity",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        help_text="The entry's legal entity.",
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="core.legalentity",
                    ),
                ),
                migrations.AlterField(
                    model_name="journalline",
                    name="period",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ledger.accountingperiod",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(_drop, _add)],
        ),
    ]
