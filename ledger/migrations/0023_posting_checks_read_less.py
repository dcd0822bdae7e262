"""The period trigger does less per journal line: a line's date, period and entity must be its entry's (one look-up,
which also finds the month still open for the entity), where it read the period, the entry and the period's close
separately. The entry's own row, checked by the same trigger when it was inserted, is what ties the date to an open
month of the entity: the line needs only to match it, so the rules stand as migration 0014 wrote them, and each
message is the same. Three look-ups per line became one (a 3-line entry: 6 fewer).

The balance check at commit reads the entry's lines by entry and date: every line carries its entry's date (the
trigger above), so the sum is the same, and on the partitioned journal (migration 0021) it reads one month's
partition instead of probing every partition's index (two years of months and the default: 26 probes per entry)."""

from importlib import import_module

from django.db import migrations

PREVIOUS = import_module("ledger.migrations.0014_entity_periods").TRIGGER
PREVIOUS_BALANCED = import_module("ledger.migrations.0021_journal_line_partitions").BALANCED_ON_PARTITIONS

BALANCED = r"""
CREATE OR REPLACE FUNCTION ledger_check_entry_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  eid bigint;
  d numeric;
  c numeric;
  n integer;
  t numeric;
  on_date date;
  top bigint;
  memo text[];
BEGIN
  IF TG_TABLE_NAME = 'ledger_journalentry' THEN eid := NEW.id; ELSE eid := NEW.entry_id; END IF;
  memo := string_to_array(current_setting('psa.ledger_balanced', true), ':');
  IF TG_TABLE_NAME <> 'ledger_journalentry' AND memo IS NOT NULL AND array_length(memo, 1) = 3
     AND memo[1]::bigint = eid AND memo[2]::bigint = txid_current() AND NEW.id <= memo[3]::bigint THEN
    RETURN NULL;  -- this line was in the entry when it was last checked in this transaction
  END IF;
  SELECT total, date INTO t, on_date FROM ledger_journalentry WHERE id = eid;
  SELECT COALESCE(SUM(debit), 0), COALESCE(SUM(credit), 0), COUNT(*), COALESCE(MAX(id), 0) INTO d, c, n, top
    FROM ledger_journalline WHERE entry_id = eid AND date = on_date;
  IF n < 2 OR d <> c OR t IS DISTINCT FROM d THEN
    RAISE EXCEPTION 'journal entry % does not balance: % lines, debits %, credits %, total %', eid, n, d, c, t
      USING ERRCODE = 'check_violation';
  END IF;
  PERFORM set_config('psa.ledger_balanced', eid || ':' || txid_current() || ':' || top, true);
  RETURN NULL;
END $$;
"""

TRIGGER = r"""
CREATE OR REPLACE FUNCTION ledger_refuse_closed_period() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  p record;
BEGIN
  IF TG_TABLE_NAME = 'ledger_journalentry' THEN
    -- FOR SHARE: a concurrent close waits until this posting commits (and then includes it).
    SELECT start, "end" INTO p FROM ledger_accountingperiod WHERE id = NEW.period_id FOR SHARE;
    PERFORM 1 FROM ledger_periodclose c WHERE c.period_id = NEW.period_id AND c.entity_id = NEW.entity_id;
    IF FOUND THEN
      RAISE EXCEPTION 'accounting period % is closed for entity %: no posting dated % is accepted',
        to_char(p.start, 'YYYY-MM'), NEW.entity_id, NEW.date USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.date < p.start OR NEW.date > p."end" THEN
      RAISE EXCEPTION 'posting date % is outside its accounting period %', NEW.date, to_char(p.start, 'YYYY-MM')
        USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END IF;
  -- A line: its date, period and entity are its entry's, whose own trigger checked them; the period must still be
  -- open for the entity (a line is never added to an entry of a month closed since).
  IF NEW.entity_id IS NULL THEN
    NEW.entity_id := (SELECT e.entity_id FROM ledger_journalentry e WHERE e.id = NEW.entry_id);
  END IF;
  PERFORM 1 FROM ledger_journalentry e WHERE e.id = NEW.entry_id AND e.date = NEW.date
    AND e.period_id = NEW.period_id AND e.entity_id = NEW.entity_id
    AND NOT EXISTS (SELECT 1 FROM ledger_periodclose c
                    WHERE c.period_id = NEW.period_id AND c.entity_id = NEW.entity_id);
  IF NOT FOUND THEN
    IF EXISTS (SELECT 1 FROM ledger_periodclose c
               WHERE c.period_id = NEW.period_id AND c.entity_id = NEW.entity_id) THEN
      SELECT start INTO p FROM ledger_accountingperiod WHERE id = NEW.period_id;
      RAISE EXCEPTION 'accounting period % is closed for entity %: no posting dated % is accepted',
        to_char(p.start, 'YYYY-MM'), NEW.entity_id, NEW.date USING ERRCODE = 'check_violation';
    END IF;
    RAISE EXCEPTION 'journal line date, period and entity must be those of its entry %', NEW.entry_id
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER, params=None)
        schema_editor.execute(BALANCED, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PREVIOUS, params=None)
        schema_editor.execute(PREVIOUS_BALANCED, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0022_journal_line_keys_share_indexes")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
