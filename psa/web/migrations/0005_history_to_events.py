"""Copies the history recorded by django-simple-history (the Historical* tables of this app) into the trigger-
written event tables each app now owns (psa.core.history), with the person and the date of each change; the next
migration drops the old tables.

Each old record becomes one event of the same object (`+` insert, `~` update, `-` delete) carrying the record's
columns, at the record's date; a record with a user or a change reason gets a context holding them
(`{"user": id, "reason": ..., "source": "django-simple-history"}`), as a request's change would. The role
assignments of a user (the old `HistoricalUser_groups` snapshots) are not copied: the user's history keeps its
own columns, and role changes are recorded as UserRoleEvent rows from now on.
On SQLite the event tables exist too, so the copy runs the same way.
"""

import uuid

from django.db import migrations

# old historical model (this app) -> (app label, event model)
COPIES = {
    "HistoricalAccount": ("crm", "AccountEvent"),
    "HistoricalAccountingPeriod": ("ledger", "AccountingPeriodEvent"),
    "HistoricalLedgerAccount": ("ledger", "LedgerAccountEvent"),
    "HistoricalChangeOrder": ("projects", "ChangeOrderEvent"),
    "HistoricalChangeOrderLine": ("projects", "ChangeOrderLineEvent"),
    "HistoricalConsultant": ("projects", "ConsultantEvent"),
    "HistoricalContract": ("projects", "ContractEvent"),
    "HistoricalContractLine": ("projects", "ContractLineEvent"),
    "HistoricalRateCard": ("projects", "RateCardEvent"),
    "HistoricalRateCardLine": ("projects", "RateCardLineEvent"),
    "HistoricalInvoice": ("billing", "InvoiceEvent"),
    "HistoricalPayment": ("billing", "PaymentEvent"),
    "HistoricalWriteOff": ("billing", "WriteOffEvent"),
    "HistoricalUser": ("core", "UserEvent"),
    "HistoricalGroup": ("core", "GroupEvent"),
}
LABELS = {"+": "insert", "~": "update", "-": "delete"}
BATCH = 1000


def _keep_given_times(model, *names):
    """The state models stamp auto_now(_add) fields on save; the copy keeps the old records' dates instead."""
    for name in names:
        f = model._meta.get_field(name)
        f.auto_now = f.auto_now_add = False


def copy_history(apps, schema_editor):
    Context = apps.get_model("pghistory", "Context")
    _keep_given_times(Context, "created_at", "updated_at")
    for old_name, (app_label, event_name) in COPIES.items():
        Old = apps.get_model("web", old_name)
        Event = apps.get_model(app_label, event_name)
        _keep_given_times(Event, "pgh_created_at")
        old_columns = {f.attname for f in Old._meta.concrete_fields}
        columns = [
            f.attname
            for f in Event._meta.concrete_fields
            if not f.name.startswith("pgh_") and f.attname in old_columns
        ]
        contexts, events = [], []
        for record in Old.objects.order_by("history_date", "history_id").iterator(chunk_size=BATCH):
            context_id = None
            if record.history_user_id is not None or record.history_change_reason:
                context_id = uuid.uuid4()
                metadata = {"source": "django-simple-history"}
                if record.history_user_id is not None:
                    metadata["user"] = record.history_user_id
                if record.history_change_reason:
                    metadata["reason"] = record.history_change_reason
                contexts.append(
                    Context(id=context_id, metadata=metadata, created_at=record.history_date, updated_at=record.history_date)
                )
            events.append(
                Event(
                    pgh_created_at=record.history_date,
                    pgh_label=LABELS[record.history_type],
                    pgh_obj_id=record.id,
                    pgh_context_id=context_id,
                    **{c: getattr(record, c) for c in columns},
                )
            )
            if len(events) >= BATCH:
                Context.objects.bulk_create(contexts)
                Event.objects.bulk_create(events)
                contexts, events = [], []
        Context.objects.bulk_create(contexts)
        Event.objects.bulk_create(events)


class Migration(migrations.Migration):
    dependencies = [
        ("web", "0004_historical_invoice_einvoice_error"),
        ("pghistory", "0007_auto_20250421_0444"),
        ("billing", "0011_history_events"),
        ("core", "0008_history_events"),
        ("crm", "0006_history_events"),
        ("ledger", "0007_history_events"),
        ("projects", "0006_history_events"),
    ]

    operations = [
        migrations.RunPython(copy_history, migrations.RunPython.noop),
    ]
