"""Posting runs fewer queries inside its triggers: an entry of a month already found open needs no look-up, and
the balance check at commit reads only the lines.

A `perf` profile of the server while the journal_post_vs_hordak bench posted its 10,000 entries put about a tenth
of the server's time in the queries the ledger's PL/pgSQL triggers run, five per entry:

- **The entry's period look-up** (period, its close for the entity, the entity's go-live cut-over) ran for every
  entry. The trigger now notes, for the rest of the transaction, the period it last found open for the entity (its
  dates and the cut-over: `psa.ledger_period`), and an entry of the same period and entity is checked against the
  note. The period stays locked FOR SHARE from the first look-up to the end of the transaction, so no other
  transaction can close it meanwhile; the note goes with a savepoint rolled back (as the setting does), and the
  transaction's own changes end it: closing a month, changing or deleting a period, changing a legal entity (its
  cut-over) clear it, as closing a month already cleared the lines' note (`psa.ledger_open`).
- **The balance check at commit** read the entry's total and date, then summed its lines. Fired by the entry's own
  row (as it is first, for an entry posted with its lines), it has both in that row and reads only the lines.
- **Setting a note** (`PERFORM set_config(...)`) ran as a query of its own (PL/pgSQL sends PERFORM through the
  executor); assigned to a variable, it is evaluated as a plain expression.

The rules, their messages and error codes stay as they were (migration 0026). On PostgreSQL only."""

from importlib import import_module

from django.db import migrations

PREVIOUS = import_module("ledger.migrations.0026_value_rules_in_triggers_fewer_indexes").TRIGGER
PREVIOUS_BALANCED = import_module("ledger.migrations.0023_posting_checks_read_less").BALANCED

TRIGGER = r"""
CREATE OR REPLACE FUNCTION ledger_refuse_closed_period() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  p record;
  rule text;
  seen text;
  starts date;
  ends date;
  cutover date;
  closed boolean;
BEGIN
  IF TG_TABLE_NAME = 'ledger_journalentry' THEN
    -- The entry's value rules (were CHECK constraints; a NULL passes, as it did).
    IF NOT (NEW.total > 0 AND NEW.origin IN ('manual', 'system', 'reversal')
            AND (NEW.auto_reverse_on IS NULL OR NEW.auto_reverse_on > NEW.date)) THEN
      rule := CASE WHEN (NEW.total > 0) IS FALSE THEN 'ledger_entry_total_positive'
                   WHEN (NEW.origin IN ('manual', 'system', 'reversal')) IS FALSE THEN 'ledger_entry_origin_valid'
                   ELSE 'ledger_entry_auto_reverse_after_date' END;
      RAISE EXCEPTION 'new row for relation "ledger_journalentry" violates check constraint "%"', rule
        USING ERRCODE = 'check_violation', CONSTRAINT = rule, TABLE = 'ledger_journalentry';
    END IF;
    -- The period this transaction found open for the entity last (start, end, cut-over): the same month again
    -- needs no look-up. It is forgotten when a month is closed, a period or an entity is changed, and with the
    -- savepoint or transaction that made it; the period stays locked FOR SHARE until the transaction ends.
    seen := current_setting('psa.ledger_period', true);
    IF seen IS NULL OR split_part(seen, '|', 1) IS DISTINCT FROM NEW.period_id || ':' || NEW.entity_id THEN
      -- One look-up: the period (FOR SHARE: a concurrent close waits until this posting commits, and then includes
      -- it), whether the entity has closed it, and the entity's go-live cut-over.
      SELECT q.start, q."end",
             EXISTS (SELECT 1 FROM ledger_periodclose c WHERE c.period_id = q.id AND c.entity_id = NEW.entity_id)
               AS closed,
             (SELECT e.books_start FROM core_legalentity e WHERE e.id = NEW.entity_id) AS cutover
        INTO p FROM ledger_accountingperiod q WHERE q.id = NEW.period_id FOR SHARE OF q;
      IF FOUND AND NOT p.closed THEN
        seen := set_config('psa.ledger_period', NEW.period_id || ':' || NEW.entity_id || '|' || p.start || '|'
                        || p."end" || '|' || COALESCE(p.cutover::text, ''), true);
      END IF;
      starts := p.start; ends := p."end"; cutover := p.cutover; closed := p.closed;
    ELSE
      closed := false;
      starts := split_part(seen, '|', 2)::date;
      ends := split_part(seen, '|', 3)::date;
      cutover := NULLIF(split_part(seen, '|', 4), '')::date;
    END IF;
    IF cutover IS NOT NULL AND NEW.date < cutover THEN
      RAISE EXCEPTION 'journal entry dated % is before the go-live cut-over % of entity %', NEW.date, cutover,
        NEW.entity_id USING ERRCODE = 'check_violation';
    END IF;
    IF closed THEN
      RAISE EXCEPTION 'accounting period % is closed for entity %: no posting dated % is accepted',
        to_char(starts, 'YYYY-MM'), NEW.entity_id, NEW.date USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.date < starts OR NEW.date > ends THEN
      RAISE EXCEPTION 'posting date % is outside its accounting period %', NEW.date, to_char(starts, 'YYYY-MM')
        USING ERRCODE = 'check_violation';
    END IF;
    -- Its lines carry these values: they need no look-up of their own while no month is closed (see below).
    seen := set_config('psa.ledger_open',
                       NEW.id || ':' || NEW.date || ':' || NEW.period_id || ':' || NEW.entity_id, true);
    RETURN NEW;
  END IF;
  -- A line's value rules (were CHECK constraints; a NULL passes, as it did).
  IF NOT ((NEW.debit > 0 AND NEW.credit = 0 OR NEW.credit > 0 AND NEW.debit = 0)
          AND NEW.amount_currency >= 0 AND NEW.rate > 0 AND NEW.line_no >= 0) THEN
    rule := CASE WHEN (NEW.debit > 0 AND NEW.credit = 0 OR NEW.credit > 0 AND NEW.debit = 0) IS FALSE
                   THEN 'ledger_line_one_sided_positive'
                 WHEN (NEW.amount_currency >= 0) IS FALSE THEN 'ledger_line_amount_currency_positive'
                 WHEN (NEW.rate > 0) IS FALSE THEN 'ledger_line_rate_positive'
                 ELSE 'ledger_journalline_line_no_check' END;
    RAISE EXCEPTION 'new row for relation "ledger_journalline" violates check constraint "%"', rule
      USING ERRCODE = 'check_violation', CONSTRAINT = rule, TABLE = 'ledger_journalline';
  END IF;
  -- Its date, period and entity are its entry's, whose own trigger checked them; the period must still be open
  -- for the entity (a line is never added to an entry of a month closed since).
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
  noted text;
BEGIN
  IF TG_TABLE_NAME = 'ledger_journalentry' THEN
    -- The entry's own row (entries never change): its total and date need no look-up.
    eid := NEW.id;
    t := NEW.total;
    on_date := NEW.date;
  ELSE
    eid := NEW.entry_id;
    memo := string_to_array(current_setting('psa.ledger_balanced', true), ':');
    IF memo IS NOT NULL AND array_length(memo, 1) = 3
       AND memo[1]::bigint = eid AND memo[2]::bigint = txid_current() AND NEW.id <= memo[3]::bigint THEN
      RETURN NULL;  -- this line was in the entry when it was last checked in this transaction
    END IF;
    SELECT total, date INTO t, on_date FROM ledger_journalentry WHERE id = eid;
  END IF;
  SELECT COALESCE(SUM(debit), 0), COALESCE(SUM(credit), 0), COUNT(*), COALESCE(MAX(id), 0) INTO d, c, n, top
    FROM ledger_journalline WHERE entry_id = eid AND date = on_date;
  IF n < 2 OR d <> c OR t IS DISTINCT FROM d THEN
    RAISE EXCEPTION 'journal entry % does not balance: % lines, debits %, credits %, total %', eid, n, d, c, t
      USING ERRCODE = 'check_violation';
  END IF;
  noted := set_config('psa.ledger_balanced', eid || ':' || txid_current() || ':' || top, true);
  RETURN NULL;
END $$;
"""

FORGET = r"""
-- Closing a month, changing a period or a legal entity ends the transaction's notes of what it found open.
CREATE OR REPLACE FUNCTION ledger_forget_open_entry() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  noted text;
BEGIN
  noted := set_config('psa.ledger_open', '', true);
  noted := set_config('psa.ledger_period', '', true);
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS ledger_period_change_forgets_open ON ledger_accountingperiod;
CREATE TRIGGER ledger_period_change_forgets_open AFTER UPDATE OR DELETE ON ledger_accountingperiod
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_forget_open_entry();
DROP TRIGGER IF EXISTS ledger_entity_change_forgets_open ON core_legalentity;
CREATE TRIGGER ledger_entity_change_forgets_open AFTER UPDATE ON core_legalentity
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_forget_open_entry();
"""

PREVIOUS_FORGET = r"""
DROP TRIGGER IF EXISTS ledger_period_change_forgets_open ON ledger_accountingperiod;
DROP TRIGGER IF EXISTS ledger_entity_change_forgets_open ON core_legalentity;
CREATE OR REPLACE FUNCTION ledger_forget_open_entry() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('psa.ledger_open', '', true);
  RETURN NULL;
END $$;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER + BALANCED + FORGET, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PREVIOUS_FORGET + PREVIOUS_BALANCED + PREVIOUS, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0012_entity_books_start"),
        ("ledger", "0026_value_rules_in_triggers_fewer_indexes"),
    ]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
