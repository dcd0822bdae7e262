"""Time entries partitioned by month on `date` (issue 24), PostgreSQL only (a no-op on SQLite).

How it works and what it costs: psa/core/partitions.py and README "Monthly partitions". The primary key becomes
(id, date). The two partial unique indexes that make a timesheet cell one row (`projects_te_one_per_project_cell`,
`projects_te_one_per_task_cell`) already end with `date`, so they are recreated unchanged on the partitioned
table and still hold globally: two rows of one cell share their date, so they always meet in one partition.
Time entries have no triggers and no table references them. Reversible: the reverse turns the table back into a
plain one with PRIMARY KEY (id).
"""

from django.db import migrations
from django.utils import timezone

from psa.core.partitions import partition_table, unpartition_table

TABLE = "projects_timeentry"
MONTHS_AHEAD = 3


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    partition_table(schema_editor.connection, TABLE, today=timezone.localdate(), ahead=MONTHS_AHEAD, widen=set())


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    unpartition_table(schema_editor.connection, TABLE, narrow=set())


class Migration(migrations.Migration):
    dependencies = [("projects", "0015_page_indexes")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
