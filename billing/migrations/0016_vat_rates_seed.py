"""Seeded VAT rates, VATEX codes on the existing 0 % categories, and issued invoices' VAT determination frozen.

- The standard rates of DE (19 %, with the temporary 16 % of 2020-07-01..2020-12-31), FR 20, GB 20, NL 21, AT 20,
  BE 21, IT 22, ES 21 and IE 23 (billing.services.vat.DEFAULT_RATES, the sources named there), editable in the
  admin with their history.
- The reverse-charge category gets the reason text "Reverse charge" and its VATEX code (BR-AE-10); "O" (not
  subject) is created on first use.
"""

from datetime import date
from decimal import Decimal

from django.db import migrations


# A copy of billing.services.vat.DEFAULT_RATES as of this migration (migrations do not import services).
RATES = (
    ("DE", "19.00", "2007-01-01", "UStG § 12 (1)"),
    ("DE", "16.00", "2020-07-01", "Second Corona Tax Assistance Act (temporary)"),
    ("DE", "19.00", "2021-01-01", "UStG § 12 (1)"),
    ("FR", "20.00", "2014-01-01", "CGI art. 278"),
    ("GB", "20.00", "2011-01-04", "VATA 1994 s. 2"),
    ("NL", "21.00", "2012-10-01", "Wet OB 1968 art. 9"),
    ("AT", "20.00", "2016-01-01", "UStG 1994 § 10"),
    ("BE", "21.00", "1996-01-01", "WBTW art. 37"),
    ("IT", "22.00", "2013-10-01", "DPR 633/72 art. 16"),
    ("ES", "21.00", "2012-09-01", "Ley 37/1992 art. 90"),
    ("IE", "23.00", "2021-03-01", "VATCA 2010 s. 46"),
)


def seed(apps, schema_editor):
    VatRate = apps.get_model("billing", "VatRate")
    TaxCategory = apps.get_model("billing", "TaxCategory")
    for country, rate, valid_from, note in RATES:
        VatRate.objects.get_or_create(
            country=country,
            kind="standard",
            valid_from=date.fromisoformat(valid_from),
            defaults={"rate": Decimal(rate), "note": note},
        )
    # The reason text EN 16931 expects (BR-AE-10), with its code; issued documents keep the text they carry.
    TaxCategory.objects.filter(code="AE", kind="AE").update(
        exemption_reason="Reverse charge", exemption_code="VATEX-EU-AE"
    )


class Migration(migrations.Migration):
    dependencies = [("billing", "0015_tax_determination")]

    operations = [
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
