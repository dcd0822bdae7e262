"""No two rate-card lines of one role on one card overlap in time: an exclusion constraint on PostgreSQL
(btree_gist lets `=` on integers share a GiST index with `&&` on date ranges). SQLite relies on the service
check in projects.services.rate_card_line_create."""

from django.db import migrations

CREATE = """
CREATE EXTENSION IF NOT EXISTS btree_gist;
ALTER TABLE projects_ratecardline ADD CONSTRAINT projects_ratecardline_no_overlap
  EXCLUDE USING gist (rate_card_id WITH =, role_id WITH =, daterange(valid_from, valid_to, '[]') WITH &&);
"""
DROP = "ALTER TABLE projects_ratecardline DROP CONSTRAINT IF EXISTS projects_ratecardline_no_overlap;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("projects", "0002_engagement")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
