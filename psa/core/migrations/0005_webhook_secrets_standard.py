"""Webhook secrets move to the Standard Webhooks form `whsec_<base64 key>`.

The old scheme keyed the HMAC with the secret string's bytes, so an existing secret becomes
`whsec_` + base64(those bytes): each receiver keeps the same key and only changes how it verifies
(the signed content is now `<webhook-id>.<webhook-timestamp>.<body>`, see psa.core.webhooks). Secrets were
always generated (64 hex characters), so the new form fits the column. Going back leaves them as they are.
"""

import base64

from django.db import migrations


def to_standard(apps, schema_editor):
    WebhookSubscription = apps.get_model("core", "WebhookSubscription")
    for sub in WebhookSubscription.objects.exclude(secret__startswith="whsec_").only("pk", "secret"):
        sub.secret = "whsec_" + base64.b64encode(sub.secret.encode()).decode()
        sub.save(update_fields=["secret"])


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_webhooks"),
    ]

    operations = [
        migrations.RunPython(to_standard, migrations.RunPython.noop),
    ]
