"""The default pipeline stages (configurable afterwards in the admin)."""

from django.db import migrations

STAGES = [
    ("Lead", 10, 10, "open"),
    ("Qualified", 20, 25, "open"),
    ("Proposal", 30, 50, "open"),
    ("Negotiation", 40, 75, "open"),
    ("Won", 90, 100, "won"),
    ("Lost", 99, 0, "lost"),
]


def forwards(apps, schema_editor):
    Stage = apps.get_model("crm", "Stage")
    for name, order, probability, kind in STAGES:
        Stage.objects.get_or_create(
            name=name, defaults={"order": order, "default_probability": probability, "kind": kind}
        )


class Migration(migrations.Migration):
    dependencies = [("crm", "0002_pipeline")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
