"""Database enforcement of the ledger invariants on PostgreSQL (DESIGN.md section 5, invariants 1-3).

- A deferred constraint trigger refuses, at commit, an entry whose lines do not balance, that has fewer than two
  lines, or whose total differs from its debits (fires on the entry and on every line inserted later).
- Posted entries and their lines are immutable: UPDATE and DELETE are refused (TRUNCATE, used by test and
  benchmark resets, is a table operation and is not blocked).
- No posting into a closed period or outside its period's dates; a line repeats its entry's date and period.
- Periods never overlap (exclusion constraint on their date ranges).
One-sided positive lines are a plain check constraint (migration 0001), enforced on every database.
Other databases (the SQLite demo) rely on the posting service, which checks the same rules first.
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

CREATE CONSTRAINT TRIGGER ledger_entry_balanced AFTER INSERT ON ledger_journalentry
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced();
CREATE CONSTRAINT TRIGGER ledger_line_balanced AFTER INSERT ON ledger_journalline
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_entry_balanced();

CREATE OR REPLACE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'posted journal entries and their lines are immutable (% on %): post a reversal instead',
    TG_OP, TG_TABLE_NAME USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER ledger_entry_immutable BEFORE UPDATE OR DELETE ON ledger_journalentry
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_line_immutable BEFORE UPDATE OR DELETE ON ledger_journalline
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();

CREATE OR REPLACE FUNCTION ledger_refuse_closed_period() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  p record;
BEGIN
  IF TG_TABLE_NAME = 'ledger_journalentry' THEN
    -- FOR SHARE: a concurrent close waits until this posting commits (and then includes it).
    SELECT status, start, "end" INTO p FROM ledger_accountingperiod WHERE id = NEW.period_id FOR SHARE;
  ELSE
    SELECT status, start, "end" INTO p FROM ledger_accountingperiod WHERE id = NEW.period_id;
    PERFORM 1 FROM ledger_journalentry e WHERE e.id = NEW.entry_id AND e.date = NEW.date AND e.period_id = NEW.period_id;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'journal line date and period must be those of its entry %', NEW.entry_id
        USING ERRCODE = 'check_violation';
    END IF;
  END IF;
  IF p.status IS DISTINCT FROM 'open' THEN
    RAISE EXCEPTION 'accounting period % is closed: no posting dated % is accepted', to_char(p.start, 'YYYY-MM'), NEW.date
      USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.date < p.start OR NEW.date > p."end" THEN
    RAISE EXCEPTION 'posting date % is outside its accounting period %', NEW.date, to_char(p.start, 'YYYY-MM')
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER ledger_entry_open_period BEFORE INSERT ON ledger_journalentry
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_closed_period();
CREATE TRIGGER ledger_line_open_period BEFORE INSERT ON ledger_journalline
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_closed_period();

ALTER TABLE ledger_accountingperiod ADD CONSTRAINT ledger_period_no_overlap
  EXCLUDE USING gist (daterange(start, "end", '[]') WITH &&);
"""

BACKWARD = r"""
ALTER TABLE ledger_accountingperiod DROP CONSTRAINT IF EXISTS ledger_period_no_overlap;
DROP TRIGGER IF EXISTS ledger_line_open_period ON ledger_journalline;
DROP TRIGGER IF EXISTS ledger_entry_open_period ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_refuse_closed_period();
DROP TRIGGER IF EXISTS ledger_line_immutable ON ledger_journalline;
DROP TRIGGER IF EXISTS ledger_entry_immutable ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_refuse_change();
DROP TRIGGER IF EXISTS ledger_line_balanced ON ledger_journalline;
DROP TRIGGER IF EXISTS ledger_entry_balanced ON ledger_journalentry;
DROP FUNCTION IF EXISTS ledger_check_entry_balanced();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_default_chart")]
    operations = [migrations.RunPython(forward, backward)]
