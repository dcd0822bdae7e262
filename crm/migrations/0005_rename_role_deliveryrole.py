"""The delivery role model is DeliveryRole (psa.core.roles.Role is the permission enum). Rows are kept; the
table becomes crm_deliveryrole.

It runs after every migration that refers to the model by its old name ("crm.role": projects' rate-card lines,
resource requests and consultants, and the audit-history tables in psa.web), so the rename carries those
references along instead of leaving them pointing at a model that no longer exists."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0004_opportunity_delivery_manager"),
        ("projects", "0004_time_and_staffing"),
        ("web", "0001_initial"),
    ]

    operations = [
        migrations.RenameModel(old_name="Role", new_name="DeliveryRole"),
    ]
