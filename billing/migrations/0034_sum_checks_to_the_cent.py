"""The sum checks on invoices and vendor bills compare after rounding to the cent: the same on PostgreSQL's
numeric (every amount has two decimals), and they hold on the demo's SQLite, which keeps decimals as floating point
(`net + tax` could differ from `gross` in the last bit there)."""

import django.db.models.expressions
import django.db.models.functions.math
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0033_time_summary"),
        ("core", "0012_entity_books_start"),
        ("crm", "0013_page_indexes"),
        ("ledger", "0021_journal_line_partitions"),
        ("projects", "0017_time_entry_updated_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="invoice",
            name="billing_invoice_gross_identity",
        ),
        migrations.RemoveConstraint(
            model_name="invoice",
            name="billing_invoice_functional_gross_identity",
        ),
        migrations.RemoveConstraint(
            model_name="invoice",
            name="billing_invoice_not_oversettled",
        ),
        migrations.RemoveConstraint(
            model_name="vendorbill",
            name="billing_vbill_gross_is_net_plus_tax",
        ),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "gross_total",
                        django.db.models.functions.math.Round(
                            django.db.models.expressions.CombinedExpression(
                                models.F("net_total"), "+", models.F("tax_total")
                            ),
                            2,
                        ),
                    )
                ),
                name="billing_invoice_gross_identity",
            ),
        ),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "gross_total__gte",
                        django.db.models.functions.math.Round(
                            django.db.models.expressions.CombinedExpression(
                                django.db.models.expressions.CombinedExpression(
                                    django.db.models.expressions.CombinedExpression(
                                        models.F("retainage_total"), "+", models.F("amount_paid")
                                    ),
                                    "+",
                                    models.F("amount_credited"),
                                ),
                                "+",
                                models.F("amount_written_off"),
                            ),
                            2,
                        ),
                    )
                ),
                name="billing_invoice_not_oversettled",
            ),
        ),
        migrations.AddConstraint(
            model_name="invoice",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("functional_gross__isnull", True),
                    (
                        "functional_gross",
                        django.db.models.functions.math.Round(
                            django.db.models.expressions.CombinedExpression(
                                models.F("functional_net"), "+", models.F("functional_tax")
                            ),
                            2,
                        ),
                    ),
                    _connector="OR",
                ),
                name="billing_invoice_functional_gross_identity",
            ),
        ),
        migrations.AddConstraint(
            model_name="vendorbill",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    (
                        "gross_total",
                        django.db.models.functions.math.Round(
                            django.db.models.expressions.CombinedExpression(
                                models.F("net_total"), "+", models.F("tax_total")
                            ),
                            2,
                        ),
                    )
                ),
                name="billing_vbill_gross_is_net_plus_tax",
            ),
        ),
    ]
