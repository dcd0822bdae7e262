"""Migrating an empty database seeds no legal entity: an `entity` field added with the callable default
(psa.core.entities.entity_default_id) makes Django call it to fill existing rows, which creates the default entity
from whatever PSA_FIRM_* settings the migration runs with. Every such AddField must add the column without the
default (SeparateDatabaseAndState, or a backfill as billing 0014 does)."""

from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import AddField, SeparateDatabaseAndState

from psa.core.entities import entity_default_id


def _database_operations(operations):
    for operation in operations:
        if isinstance(operation, SeparateDatabaseAndState):
            yield from _database_operations(operation.database_operations)
        else:
            yield operation


def test_no_migration_adds_a_column_whose_default_seeds_an_entity():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    offending = [
        f"{app}.{name}: {operation.model_name}.{operation.name}"
        for (app, name), migration in loader.disk_migrations.items()
        for operation in _database_operations(migration.operations)
        if isinstance(operation, AddField) and operation.field.default is entity_default_id
    ]
    assert offending == []
