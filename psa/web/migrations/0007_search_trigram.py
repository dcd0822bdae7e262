"""The global search's trigram indexes (psa/web/search.py): pg_trgm and a GIN index per searched column, so
`ILIKE '%q%'` and the similarity operator `%` use an index instead of scanning. PostgreSQL only: the SQLite demo
database searches by plain substring and gets no index."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations

INDEXES = (
    ("web_search_account_name_trgm", "crm_account", "name"),
    ("web_search_account_legal_trgm", "crm_account", "legal_name"),
    ("web_search_opportunity_name_trgm", "crm_opportunity", "name"),
    ("web_search_project_name_trgm", "projects_project", "name"),
    ("web_search_project_code_trgm", "projects_project", "code"),
    ("web_search_invoice_number_trgm", "billing_invoice", "number"),
)


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, column in INDEXES:
        schema_editor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin ("{column}" gin_trgm_ops)')


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("web", "0006_drop_simple_history_tables"),
        ("crm", "0012_credit_holds"),
        ("projects", "0014_opening_db_default"),
        ("billing", "0032_invoice_delivery"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
