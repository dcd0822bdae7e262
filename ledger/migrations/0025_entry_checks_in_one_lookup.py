"""The entry's insert checks read the database once, and its lines trust that check within the transaction.

Before, an entry fired two insert triggers (the period, open for the entity and covering the date, in two look-ups:
migration 0023; the go-live cut-over in a third: migration 0020), and each of its lines looked the entry and the
close up again. Now:

- **The entry:** one trigger, one look-up: the period (locked FOR SHARE, as before, so a concurrent close waits for
  the posting and then includes it), whether the entity has closed it, and the entity's cut-over. The checks and
  their messages are those of the two triggers, in the order they fired (the cut-over first).
- **Its lines:** once the entry passed, its trigger notes the entry's id, date, period and entity in a setting
  local to the transaction (`psa.ledger_open`). A line that carries exactly those values belongs to an entry that
  was found open in this transaction, so it needs no look-up. Any other line is looked up as before. Closing a
  month clears the note (a trigger on the closes), so a line added after a close in the same transaction is looked
  up and refused. A savepoint rolled back takes its note with it, as it takes the entry.

The note is a hint the database itself writes: like the balance check's note (`psa.ledger_balanced`, migration
0023), only code running in the transaction could forge it, and that code could as well drop the trigger.

On PostgreSQL only (SQLite has no triggers here)."""

from importlib import import_module

from django.db import migrations

PREVIOUS = import_module("ledger.migrations.0023_posting_checks_read_less").TRIGGER
CUTOVER_TRIGGER = """
CREATE TRIGGER ledger_entry_after_cutover BEFORE INSERT ON ledger_journalentry
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_before_cutover();
"""

FUNCTION = r"""
CREATE OR REPLACE FUNCTION ledger_refuse_closed_period() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  p record;
BEGIN
  IF TG_TABLE_NAME = 'ledger_journalentry' THEN
    -- One look-up: the period (FOR SHARE: a concurrent close waits until this posting commits, and then includes
    -- it), whether the entity has closed it, and the entity's go-live cut-over.
    SELECT q.start, q."end",
           EXISTS (SELECT 1 FROM ledger_periodclose c WHERE c.period_id = q.id AND c.entity_id = NEW.entity_id)
             AS closed,
           (SELECT e.books_start FROM core_legalentity e WHERE e.id = NEW.entity_id) AS cutover
      INTO p FROM ledger_accountingperiod q WHERE q.id = NEW.period_id FOR SHARE OF q;
    IF p.cutover IS NOT NULL AND NEW.date < p.cutover THEN
      RAISE EXCEPTION 'journal entry dated % is before the go-live cut-over % of entity %', NEW.date, p.cutover,
        NEW.entity_id USING ERRCODE = 'check_violation';
    END IF;
    IF p.closed THEN
      RAISE EXCEPTION 'accounting period % is closed for entity %: no posting dated % is accepted',
        to_char(p.start, 'YYYY-MM'), NEW.entity_id, NEW.date USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.date < p.start OR NEW.date > p."end" THEN
      RAISE EXCEPTION 'posting date % is outside its accounting period %', NEW.date, to_char(p.start, 'YYYY-MM')
        USING ERRCODE = 'check_violation';
    END IF;
    -- Its lines carry these values: they need no look-up of their own while no month is closed (see below).
    PERFORM set_config('psa.ledger_open',
                       NEW.id || ':' || NEW.date || ':' || NEW.period_id || ':' || NEW.entity_id, true);
    RETURN NEW;
  END IF;
  -- A line: its date, period and entity are its entry's, whose own trigger checked them; the period must still be
  -- open for the entity (a line is never added to an entry of a month closed since).
  IF current_setting('psa.ledger_open', true)
       = NEW.entry_id || ':' || NEW.date || ':' || NEW.period_id || ':' || NEW.entity_id THEN
    RETURN NEW;  -- the entry found open in this transaction, with no month closed since
  END IF;
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

TRIGGER = (
    FUNCTION
    + r"""
DROP TRIGGER IF EXISTS ledger_entry_after_cutover ON ledger_journalentry;

-- Closing a month ends every line's trust in an entry checked before it.
CREATE OR REPLACE FUNCTION ledger_forget_open_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('psa.ledger_open', '', true);
  RETURN NULL;
END $$;
CREATE TRIGGER ledger_close_forgets_open_entry BEFORE INSERT ON ledger_periodclose
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_forget_open_entry();
"""
)

REVERSE = (
    """
DROP TRIGGER IF EXISTS ledger_close_forgets_open_entry ON ledger_periodclose;
DROP FUNCTION IF EXISTS ledger_forget_open_entry();
"""
    + CUTOVER_TRIGGER
    + PREVIOUS
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE, params=None)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0024_line_period_and_entity_checked_through_entry")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
