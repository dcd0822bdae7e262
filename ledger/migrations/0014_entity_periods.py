"""Periods per legal entity, and the entity on journal lines and stored balances.

- PeriodClose: one row per month x entity closed; the months closed before entities existed are closed for every
  entity there is.
- JournalLine.entity repeats its entry's (filled from the entries; lines are immutable, so the immutability
  trigger is set aside for that one UPDATE); AccountBalance.entity is the first entity's, where all rows were.
- The period trigger (migration 0003) now refuses a posting of an entity into a month closed for that entity,
  not a month closed for the firm: it locks the period row (FOR SHARE, so a concurrent close of any entity waits
  for the posting and then includes it) and looks up PeriodClose. A line must carry its entry's date, period and
  entity; a line written without an entity gets its entry's.
"""

from datetime import UTC, datetime

import django.db.models.deletion
import django.db.models.functions.comparison
import psa.core.entities
from django.conf import settings
from django.db import migrations, models

TRIGGER = r"""
CREATE OR REPLACE FUNCTION ledger_refuse_closed_period() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  p record;
BEGIN
  IF TG_TABLE_NAME = 'ledger_journalentry' THEN
    -- FOR SHARE: a concurrent close waits until this posting commits (and then includes it).
    SELECT start, "end" INTO p FROM ledger_accountingperiod WHERE id = NEW.period_id FOR SHARE;
  ELSE
    SELECT start, "end" INTO p FROM ledger_accountingperiod WHERE id = NEW.period_id;
    IF NEW.entity_id IS NULL THEN
      NEW.entity_id := (SELECT e.entity_id FROM ledger_journalentry e WHERE e.id = NEW.entry_id);
    END IF;
    PERFORM 1 FROM ledger_journalentry e WHERE e.id = NEW.entry_id AND e.date = NEW.date
      AND e.period_id = NEW.period_id AND e.entity_id = NEW.entity_id;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'journal line date, period and entity must be those of its entry %', NEW.entry_id
        USING ERRCODE = 'check_violation';
    END IF;
  END IF;
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
END $$;
"""

PREVIOUS_TRIGGER = r"""
CREATE OR REPLACE FUNCTION ledger_refuse_closed_period() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  p record;
BEGIN
  IF TG_TABLE_NAME = 'ledger_journalentry' THEN
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
"""


def lines_entity(apps, schema_editor):
    """Each line takes its entry's entity (one UPDATE, the immutability trigger set aside for it)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE ledger_journalline DISABLE TRIGGER ledger_line_immutable")
        schema_editor.execute(
            "UPDATE ledger_journalline l SET entity_id = e.entity_id FROM ledger_journalentry e "
            "WHERE e.id = l.entry_id AND l.entity_id IS NULL"
        )
        schema_editor.execute("ALTER TABLE ledger_journalline ENABLE TRIGGER ledger_line_immutable")
        return
    line_model = apps.get_model("ledger", "JournalLine")
    entry_model = apps.get_model("ledger", "JournalEntry")
    for entry_id, entity_id in entry_model.objects.values_list("pk", "entity_id"):
        line_model.objects.filter(entry_id=entry_id).update(entity_id=entity_id)


def closes_backfill(apps, schema_editor):
    """The months closed before entities existed are closed for every entity."""
    period_model = apps.get_model("ledger", "AccountingPeriod")
    close_model = apps.get_model("ledger", "PeriodClose")
    entity_ids = list(apps.get_model("core", "LegalEntity").objects.values_list("pk", flat=True))
    closed = period_model.objects.filter(status="closed").values_list("pk", "closed_at", "closed_by_id")
    close_model.objects.bulk_create(
        close_model(period_id=pk, entity_id=entity_id, closed_at=at or datetime.now(UTC), closed_by_id=by)
        for pk, at, by in closed
        for entity_id in entity_ids
    )


def trigger_forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGGER, params=None)


def trigger_backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PREVIOUS_TRIGGER, params=None)



class Migration(migrations.Migration):

    dependencies = [
        ('core', '0010_legal_entities'),
        ('crm', '0008_entity'),
        ('ledger', '0013_entity'),
        ('projects', '0010_entity'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='PeriodClose',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('closed_at', models.DateTimeField()),
            ],
            options={
                'ordering': ['period__start', 'entity_id'],
            },
        ),
        migrations.RemoveConstraint(
            model_name='accountbalance',
            name='ledger_balance_unique',
        ),
        migrations.AddField(
            model_name='accountbalance',
            name='entity',
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='core.legalentity'),
        ),
        migrations.AddField(
            model_name='journalline',
            name='entity',
            field=models.ForeignKey(help_text="The entry's legal entity.", null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='core.legalentity'),
        ),
        migrations.RunPython(lines_entity, migrations.RunPython.noop),
        migrations.RunPython(
            psa.core.entities.entity_backfill('ledger', 'accountbalance'), migrations.RunPython.noop
        ),
        migrations.AlterField(
            model_name='accountbalance',
            name='entity',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='core.legalentity'),
        ),
        migrations.AlterField(
            model_name='journalline',
            name='entity',
            field=models.ForeignKey(help_text="The entry's legal entity.", on_delete=django.db.models.deletion.PROTECT, related_name='+', to='core.legalentity'),
        ),
        migrations.AddIndex(
            model_name='accountbalance',
            index=models.Index(fields=['entity', 'period'], name='ledger_balance_entity_idx'),
        ),
        migrations.AddIndex(
            model_name='journalline',
            index=models.Index(fields=['entity', 'date', 'account'], name='ledger_line_entity_date_idx'),
        ),
        migrations.AddIndex(
            model_name='journalline',
            index=models.Index(fields=['entity', 'period', 'account'], name='ledger_line_entity_period_idx'),
        ),
        migrations.AddConstraint(
            model_name='accountbalance',
            constraint=models.UniqueConstraint(models.F('period'), models.F('entity'), models.F('account'), django.db.models.functions.comparison.Coalesce('client', 0), django.db.models.functions.comparison.Coalesce('project', 0), name='ledger_balance_unique'),
        ),
        migrations.AddField(
            model_name='periodclose',
            name='closed_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='periodclose',
            name='entity',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='core.legalentity'),
        ),
        migrations.AddField(
            model_name='periodclose',
            name='period',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='closes', to='ledger.accountingperiod'),
        ),
        migrations.AddIndex(
            model_name='periodclose',
            index=models.Index(fields=['entity', 'period'], name='ledger_close_entity_idx'),
        ),
        migrations.AddConstraint(
            model_name='periodclose',
            constraint=models.UniqueConstraint(fields=('period', 'entity'), name='ledger_period_close_unique'),
        ),
        migrations.RunPython(closes_backfill, migrations.RunPython.noop),
        migrations.RunPython(trigger_forward, trigger_backward),
    ]
