"""Journal lines partitioned by month on `date` (issue 24), PostgreSQL only (a no-op on SQLite).

How it works and what it costs: psa/core/partitions.py and README "Monthly partitions". The primary key becomes
(id, date). What the invariants rely on, on the partitioned table:
- `ledger_line_entry_line_no_unique` (entry_id, line_no) becomes UNIQUE (entry_id, line_no, date). It is the same
  rule: the BEFORE INSERT trigger `ledger_line_open_period` refuses a line whose date is not its entry's date and
  `ledger_line_immutable` refuses any UPDATE, so all lines of an entry share one date, and (entry, line_no) pairs
  repeat only if (entry, line_no, date) triples do.
- The check constraints (one-sided positive amounts, positive rate) and the foreign keys, including entry_id ->
  ledger_journalentry, are recreated on the parent and cloned onto every partition.
- The three triggers are recreated on the parent, which clones them onto every partition, present and future:
  `ledger_line_balanced` (the deferred constraint trigger that checks Σ debit = Σ credit = entry total at commit;
  row-level constraint triggers on partitioned tables work on PostgreSQL 15: tests/ledger/test_partitions.py),
  `ledger_line_open_period` (closed period, date = entry date) and `ledger_line_immutable`.
  On a partition a row trigger's TG_TABLE_NAME is the partition's name (`ledger_journalline_p202603`), so the
  balance function's "checked once per entry" shortcut, which tested TG_TABLE_NAME = 'ledger_journalline', never
  fired and every line re-summed its entry (n² reads: tests/ledger/test_db_enforcement.py's long-entry test
  caught it); this migration makes the shortcut test "not the entry table" instead.
Reversible: the reverse turns the table back into a plain one with PRIMARY KEY (id) and UNIQUE (entry_id, line_no).
"""

from importlib import import_module

from django.db import migrations
from django.utils import timezone

from psa.core.partitions import partition_table, unpartition_table

TABLE = "ledger_journalline"
MONTHS_AHEAD = 3
ENTRY_LINE_UNIQUE = {"ledger_line_entry_line_no_unique"}
# The balance function as migration 0012 left it, and the same with the shortcut testing "not the entry table".
BALANCED = import_module("ledger.migrations.0012_balance_check_once_per_entry").FORWARD
LINE_TEST = "IF TG_TABLE_NAME = 'ledger_journalline' AND memo"
BALANCED_ON_PARTITIONS = BALANCED.replace(LINE_TEST, "IF TG_TABLE_NAME <> 'ledger_journalentry' AND memo")
assert BALANCED_ON_PARTITIONS != BALANCED


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    partition_table(
        schema_editor.connection, TABLE, today=timezone.localdate(), ahead=MONTHS_AHEAD, widen=ENTRY_LINE_UNIQUE
    )
    schema_editor.execute(BALANCED_ON_PARTITIONS, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(BALANCED, params=None)
    unpartition_table(schema_editor.connection, TABLE, narrow=ENTRY_LINE_UNIQUE)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0020_historical_balance")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
