"""PostgreSQL enforcement: issued documents are immutable.

Once an invoice or credit note leaves draft, its identity and content (number, dates, buyer, totals, lines,
taxes) can no longer change; only settlement figures, status (along the transitions table, checked by the
services), the stored PDF and the journal link may still be written. Lines and tax rows of an issued document
can be neither inserted, updated nor deleted. A source link can only ever be released, never re-pointed.
On SQLite (the zero-setup demo) the services enforce the same rules.
"""

from django.db import migrations

FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION billing_invoice_immutable() RETURNS trigger AS $$
BEGIN
  IF OLD.status <> 'draft' AND OLD.status <> 'cancelled' THEN
    IF NEW.number IS DISTINCT FROM OLD.number OR NEW.kind IS DISTINCT FROM OLD.kind
       OR NEW.account_id IS DISTINCT FROM OLD.account_id OR NEW.issue_date IS DISTINCT FROM OLD.issue_date
       OR NEW.due_date IS DISTINCT FROM OLD.due_date OR NEW.currency IS DISTINCT FROM OLD.currency
       OR NEW.net_total IS DISTINCT FROM OLD.net_total OR NEW.tax_total IS DISTINCT FROM OLD.tax_total
       OR NEW.gross_total IS DISTINCT FROM OLD.gross_total OR NEW.buyer_name IS DISTINCT FROM OLD.buyer_name
       OR NEW.buyer_address IS DISTINCT FROM OLD.buyer_address OR NEW.buyer_tax_id IS DISTINCT FROM OLD.buyer_tax_id
       OR NEW.credited_invoice_id IS DISTINCT FROM OLD.credited_invoice_id
       OR NEW.period_start IS DISTINCT FROM OLD.period_start OR NEW.period_end IS DISTINCT FROM OLD.period_end
       OR NEW.status IN ('draft', 'cancelled')
       OR (OLD.pdf_sha256 <> '' AND NEW.pdf_sha256 IS DISTINCT FROM OLD.pdf_sha256) THEN
      RAISE EXCEPTION 'invoice % is issued and cannot change; issue a credit note instead', OLD.number
        USING ERRCODE = 'check_violation';
    END IF;
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION billing_invoice_no_delete() RETURNS trigger AS $$
BEGIN
  IF OLD.status <> 'draft' AND OLD.status <> 'cancelled' THEN
    RAISE EXCEPTION 'invoice % is issued and cannot be deleted', OLD.number USING ERRCODE = 'check_violation';
  END IF;
  RETURN OLD;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION billing_child_of_issued() RETURNS trigger AS $$
DECLARE st text;
BEGIN
  SELECT status INTO st FROM billing_invoice WHERE id = COALESCE(NEW.invoice_id, OLD.invoice_id);
  IF st IS NOT NULL AND st <> 'draft' AND st <> 'cancelled' THEN
    RAISE EXCEPTION 'the lines and taxes of an issued document cannot change' USING ERRCODE = 'check_violation';
  END IF;
  IF TG_OP = 'UPDATE' AND NEW.invoice_id <> OLD.invoice_id THEN
    SELECT status INTO st FROM billing_invoice WHERE id = OLD.invoice_id;
    IF st <> 'draft' AND st <> 'cancelled' THEN
      RAISE EXCEPTION 'the lines and taxes of an issued document cannot change' USING ERRCODE = 'check_violation';
    END IF;
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION billing_sourcelink_guard() RETURNS trigger AS $$
BEGIN
  IF NEW.kind <> OLD.kind OR NEW.source_id <> OLD.source_id OR NEW.line_id <> OLD.line_id
     OR NEW.amount <> OLD.amount OR (OLD.released_at IS NOT NULL AND NEW.released_at IS DISTINCT FROM OLD.released_at) THEN
    RAISE EXCEPTION 'a source link can only be released, once' USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER billing_invoice_immutable BEFORE UPDATE ON billing_invoice
  FOR EACH ROW EXECUTE FUNCTION billing_invoice_immutable();
CREATE TRIGGER billing_invoice_no_delete BEFORE DELETE ON billing_invoice
  FOR EACH ROW EXECUTE FUNCTION billing_invoice_no_delete();
CREATE TRIGGER billing_line_of_issued BEFORE INSERT OR UPDATE OR DELETE ON billing_invoiceline
  FOR EACH ROW EXECUTE FUNCTION billing_child_of_issued();
CREATE TRIGGER billing_tax_of_issued BEFORE INSERT OR UPDATE OR DELETE ON billing_invoicetax
  FOR EACH ROW EXECUTE FUNCTION billing_child_of_issued();
CREATE TRIGGER billing_sourcelink_guard BEFORE UPDATE ON billing_sourcelink
  FOR EACH ROW EXECUTE FUNCTION billing_sourcelink_guard();
"""

REVERSE = r"""
DROP TRIGGER IF EXISTS billing_sourcelink_guard ON billing_sourcelink;
DROP TRIGGER IF EXISTS billing_tax_of_issued ON billing_invoicetax;
DROP TRIGGER IF EXISTS billing_line_of_issued ON billing_invoiceline;
DROP TRIGGER IF EXISTS billing_invoice_no_delete ON billing_invoice;
DROP TRIGGER IF EXISTS billing_invoice_immutable ON billing_invoice;
DROP FUNCTION IF EXISTS billing_sourcelink_guard();
DROP FUNCTION IF EXISTS billing_child_of_issued();
DROP FUNCTION IF EXISTS billing_invoice_no_delete();
DROP FUNCTION IF EXISTS billing_invoice_immutable();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTIONS, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVERSE, params=None)


def default_taxes(apps, schema_editor):
    TaxCategory = apps.get_model("billing", "TaxCategory")
    for code, name, kind, rate, reason, default in [
        ("S20", "Standard rate 20%", "S", "20.00", "", True),
        ("S10", "Reduced rate 10%", "S", "10.00", "", False),
        ("Z", "Zero rated", "Z", "0.00", "", False),
        ("AE", "Reverse charge", "AE", "0.00", "Reverse charge: VAT due by the recipient (Art. 196 VAT Directive)", False),
    ]:
        TaxCategory.objects.get_or_create(
            code=code,
            defaults={"name": name, "kind": kind, "rate": rate, "exemption_reason": reason, "is_default": default},
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [
        migrations.RunPython(forwards, backwards),
        migrations.RunPython(default_taxes, migrations.RunPython.noop),
    ]
