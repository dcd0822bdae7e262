"""Journal lines lose the six single-column indexes Django made for their foreign keys (entry, account, client,
project, period, entity): each key leads another index that serves the same look-ups and the database's own
foreign-key checks, so they only cost every posted line six more index writes (and, at 30 million lines, gigabytes).

| dropped | the index that leads with the same column |
|---|---|
| entry_id | ledger_line_entry_line_no_unique (entry_id, line_no[, date]) |
| account_id | ledger_line_account_date_idx (account_id, date, id) |
| client_id | ledger_line_client_idx (client_id, date) WHERE client_id IS NOT NULL (one client's look-up is not null) |
| project_id | ledger_line_project_idx (project_id, date) WHERE project_id IS NOT NULL |
| period_id | ledger_line_period_idx (period_id, account_id) |
| entity_id | ledger_line_entity_date_idx (entity_id, date, account_id) |

Only the indexes go: the foreign keys stay as they are (Django's own AlterField would drop and re-add each one,
re-checking every line). On a partitioned table (PostgreSQL, migration 0021) dropping the parent's index drops its
partitions'; the reverse creates them again on the parent, which creates them on every partition.
"""

from django.db import migrations, models
import django.db.models.deletion

INDEXES = {
    "ledger_journalline_entry_id_9e70d486": "entry_id",
    "ledger_journalline_account_id_2b31745b": "account_id",
    "ledger_journalline_client_id_e6123e0f": "client_id",
    "ledger_journalline_project_id_9aa46b6d": "project_id",
    "ledger_journalline_period_id_44bf687c": "period_id",
    "ledger_journalline_entity_id_bab71eea": "entity_id",
}


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0012_entity_books_start"),
        ("crm", "0013_page_indexes"),
        ("ledger", "0021_journal_line_partitions"),
        ("projects", "0017_time_entry_updated_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="journalline",
                    name="account",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="lines",
                        to="ledger.ledgeraccount",
                    ),
                ),
                migrations.AlterField(
                    model_name="journalline",
                    name="client",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_lines",
                        to="crm.account",
                    ),
                ),
                migrations.AlterField(
                    model_name="journalline",
                    name="entity",
                    field=models.ForeignKey(
                        db_index=False,
                        help_text="The entry's legal entity.",
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="core.legalentity",
                    ),
                ),
                migrations.AlterField(
                    model_name="journalline",
                    name="entry",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="lines",
                        to="ledger.journalentry",
                    ),
                ),
                migrations.AlterField(
                    model_name="journalline",
                    name="period",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ledger.accountingperiod",
                    ),
                ),
                migrations.AlterField(
                    model_name="journalline",
                    name="project",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_lines",
                        to="projects.project",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    [f'DROP INDEX IF EXISTS "{name}"' for name in INDEXES],
                    [
                        f'CREATE INDEX IF NOT EXISTS "{name}" ON "ledger_journalline" ("{column}")'
                        for name, column in INDEXES.items()
                    ],
                ),
            ],
        ),
    ]
