"""The balance trigger checks an entry once, not once per line.

Migration 0003's deferred constraint trigger fires for the entry and for every one of its lines, and each firing
summed all the entry's lines: an entry of n lines cost n² line reads at commit (4,000 lines took 4 s). The check
now remembers, for the rest of the transaction, the entry it last checked and the highest line id it saw then; a
later firing for a line of that entry with an id up to that one is already covered and returns at once. A line
added afterwards (a higher id, from the same session's sequence) is checked again, so nothing escapes: the check
still runs at commit (or at the end of each statement with SET CONSTRAINTS IMMEDIATE) and still sees every line.
The memo is a transaction-local setting, so a rolled-back savepoint forgets it with the lines it covered.
"""

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION ledger_check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  eid bigint;
  d numeric;
  c numeric;
  n integer;
  t numeric;
  top bigint;
  memo text[];
BEGIN
  IF TG_TABLE_NAME = 'ledger_journalentry' THEN eid := NEW.id; ELSE eid := NEW.entry_id; END IF;
  memo := string_to_array(current_setting('psa.ledger_balanced', true), ':');
  IF TG_TABLE_NAME = 'ledger_journalline' AND memo IS NOT NULL AND array_length(memo, 1) = 3
     AND memo[1]::bigint = eid AND memo[2]::bigint = txid_current() AND NEW.id <= memo[3]::bigint THEN
    RETURN NULL;  -- this line was in the entry when it was last checked in this transaction
  END IF;
  SELECT COALESCE(SUM(debit), 0), COALESCE(SUM(credit), 0), COUNT(*), COALESCE(MAX(id), 0) INTO d, c, n, top
    FROM ledger_journalline WHERE entry_id = eid;
  SELECT total INTO t FROM ledger_journalentry WHERE id = eid;
  IF n < 2 OR d <> c OR t IS DISTINCT FROM d THEN
    RAISE EXCEPTION 'journal entry % does not balance: % lines, debits %, credits %, total %', eid, n, d, c, t
      USING ERRCODE = 'check_violation';
  END IF;
  PERFORM set_config('psa.ledger_balanced', eid || ':' || txid_current() || ':' || top, true);
  RETURN NULL;
END $$;
"""

BACKWARD = r"""
CREATE OR REPLACE FUNCTION ledger_check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  eid bigint;
  d numeric;
  c numeric;
  n integer;
  t numeric;
BEGIN
  IF TG_TABLE_NAME = 'ledger_journalentry' THEN eid := NEW.id; ELSE eid := NEW.entry_id; END IF;
  SELECT COALESCE(SUM(debit), 0), COALESCE(SUM(credit), 0), COUNT(*) INTO d, c, n
    FROM ledger_journalline WHERE entry_id = eid;
  SELECT total INTO t FROM ledger_journalentry WHERE id = eid;
  IF n < 2 OR d <> c OR t IS DISTINCT FROM d THEN
    RAISE EXCEPTION 'journal entry % does not balance: % lines, debits %, credits %, total %', eid, n, d, c, t
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NULL;
END $$;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0011_revaluation_run")]

    operations = [migrations.RunPython(forward, backward)]
