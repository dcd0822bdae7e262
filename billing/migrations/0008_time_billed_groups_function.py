"""The groups of one contract's time that are billed and not released, as a PL/pgSQL function.

The one-statement T&M draft (billing.services.draft_write) reads them for every contract of a run. Written as a
CTE, PostgreSQL planned the five-table join again for each contract (about 1 ms, five times its run time); a
PL/pgSQL function keeps its plan for the session. The result is `TimeEntrySource.billed_queryset` to the row
(a test in tests/billing/test_draft_write.py compares them): per contract line, bill rate and role (the rate card
line's, else the consultant's), the billed hours and the billed amount (link amount plus what a cap wrote down).
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION billing_time_billed_groups(p_contract bigint)
RETURNS TABLE (cl_id bigint, rate numeric, role_id bigint, hours numeric, amount numeric)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY
  SELECT te.contract_line_id::bigint, te.bill_rate::numeric, COALESCE(rcl.role_id, co.role_id)::bigint,
         SUM(te.hours)::numeric, SUM(sl.amount + sl.written_down)::numeric
  FROM projects_contractline cl
  JOIN billing_sourcelink sl ON sl.contract_line_id = cl.id AND sl.kind = 'time_entry' AND sl.released_at IS NULL
  JOIN projects_timeentry te ON te.id = sl.source_id
  LEFT JOIN projects_ratecardline rcl ON rcl.id = te.rate_card_line_id
  JOIN projects_consultant co ON co.id = te.consultant_id
  WHERE cl.contract_id = p_contract
  GROUP BY 1, 2, 3;
END
$$;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS billing_time_billed_groups(bigint)")


class Migration(migrations.Migration):
    dependencies = [("billing", "0007_run_item_leases")]

    operations = [migrations.RunPython(create, drop)]
