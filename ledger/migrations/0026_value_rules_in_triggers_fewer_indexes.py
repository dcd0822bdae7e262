"""Posting writes fewer indexes and reads no CHECK constraint: its value rules move into the insert trigger.

Every posting statement paid for what PostgreSQL does once per statement and table: it reads each CHECK
constraint's stored expression, plans it and compiles it, for the entry's three and the line's four; and every
entry wrote twelve index entries, every line nine. Now:

- **The value rules are checked by the insert trigger** (`ledger_refuse_closed_period`, which every entry and line
  fires already), under the names their constraints had and with PostgreSQL's own message and error code
  (check_violation), so an error names the same rule. A trigger's expressions are planned once per session.
  Entries and lines are never updated (their immutability trigger refuses it), so the insert is the one place the
  rules apply. The rules: an entry's total is positive, its origin one of manual, system, reversal, its automatic
  reversal after its date; a line is one-sided and positive, its transaction amount not negative, its rate positive
  and its line number not negative. As with a CHECK constraint, a NULL passes (the columns are NOT NULL anyway).
- **Indexes no query reads are gone:** the pattern-ops (`_like`) indexes Django adds to a unique text field (the
  number and the idempotency key are unique through constraints now: one index each, which every equality
  look-up uses); the index on the poster holds only entries a person posted (the system's have none); the lines'
  `(period, account)` index, whose look-ups all name the entity too and read `(entity, period, account)` (the one
  without an entity, the go-live rollback's "anything in these months?", asks the entries instead).

On PostgreSQL only for the trigger (SQLite has no triggers here)."""

from importlib import import_module

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

PREVIOUS = import_module("ledger.migrations.0025_entry_checks_in_one_lookup").FUNCTION

TRIGGER = r"""
CREATE OR REPLACE FUNCTION ledger_refuse_closed_period() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  p record;
  rule text;
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


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PREVIOUS, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0012_entity_books_start"),
        ("ledger", "0025_entry_checks_in_one_lookup"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
        migrations.RemoveConstraint(
            model_name="journalentry",
            name="ledger_entry_total_positive",
        ),
        migrations.RemoveConstraint(
            model_name="journalentry",
            name="ledger_entry_origin_valid",
        ),
        migrations.RemoveConstraint(
            model_name="journalentry",
            name="ledger_entry_auto_reverse_after_date",
        ),
        migrations.RemoveConstraint(
            model_name="journalline",
            name="ledger_line_one_sided_positive",
        ),
        migrations.RemoveConstraint(
            model_name="journalline",
            name="ledger_line_amount_currency_positive",
        ),
        migrations.RemoveConstraint(
            model_name="journalline",
            name="ledger_line_rate_positive",
        ),
        migrations.RemoveIndex(
            model_name="journalline",
            name="ledger_line_period_idx",
        ),
        migrations.AlterField(
            model_name="journalentry",
            name="idempotency_key",
            field=models.CharField(max_length=255),
        ),
        migrations.AlterField(
            model_name="journalentry",
            name="number",
            field=models.CharField(max_length=32),
        ),
        migrations.AlterField(
            model_name="journalentry",
            name="posted_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AlterField(
            model_name="journalline",
            name="line_no",
            field=models.SmallIntegerField(validators=[django.core.validators.MinValueValidator(0)]),
        ),
        migrations.AddIndex(
            model_name="journalentry",
            index=models.Index(
                condition=models.Q(("posted_by__isnull", False)),
                fields=["posted_by"],
                name="ledger_entry_posted_by_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="journalentry",
            constraint=models.UniqueConstraint(fields=("number",), name="ledger_entry_number_unique"),
        ),
        migrations.AddConstraint(
            model_name="journalentry",
            constraint=models.UniqueConstraint(fields=("idempotency_key",), name="ledger_entry_idempotency_key_unique"),
        ),
    ]
