"""The history recorded by django-simple-history is copied into the trigger-written event tables (web migration
0005) with its users, dates and change reasons, before 0006 drops the old tables.

The test builds the old tables as they were at 0005 (from the migration state, inside the test's transaction),
fills them, and runs the migration's copy function."""

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from billing.models import Invoice
from ledger.models import AccountingPeriod
from psa.web.audit_trail import audit_trail, event_model
from tests.billing.factories import make_contract, make_periods

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
copy_history = importlib.import_module("psa.web.migrations.0005_history_to_events").copy_history


@pytest.fixture
def old_history():
    """The migration state at web 0005 (the Historical* models still there) with their tables created."""
    state = MigrationLoader(connection).project_state(("web", "0005_history_to_events"), at_end=False)
    apps = state.apps
    with connection.schema_editor(atomic=False) as editor:
        for model in apps.get_app_config("web").get_models():
            if model.__name__.startswith("Historical"):
                editor.create_model(model)
    return apps


def test_old_history_is_copied_with_user_date_and_kind(old_history, make_user):
    fiona = make_user("finance", username="fiona", first_name="Fiona", last_name="Fin")
    make_periods(start=datetime(2026, 1, 1).date(), through=datetime(2026, 1, 31).date())
    jan = AccountingPeriod.objects.get()
    before = event_model(AccountingPeriod).objects.count()  # the triggers' own events of the fixture
    when = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
    OldPeriod = old_history.get_model("web", "HistoricalAccountingPeriod")
    common = {"id": jan.pk, "start": jan.start, "end": jan.end}
    OldPeriod.objects.create(**common, status="open", history_date=when, history_type="+")
    OldPeriod.objects.create(
        **common,
        status="closed",
        closed_by_id=fiona.pk,
        history_date=when + timedelta(days=31),
        history_type="~",
        history_user_id=fiona.pk,
        history_change_reason="January done",
    )
    contract = make_contract()
    OldContract = old_history.get_model("web", "HistoricalContract")
    OldContract.objects.create(
        **{
            f.attname: getattr(contract, f.attname)
            for f in OldContract._meta.concrete_fields
            if hasattr(contract, f.attname)
        },
        history_date=when,
        history_type="-",
    )

    copy_history(old_history, None)

    events = list(event_model(AccountingPeriod).objects.order_by("pgh_id"))[before:]
    assert [(e.pgh_label, e.status, e.pgh_created_at) for e in events] == [
        ("insert", "open", when),
        ("update", "closed", when + timedelta(days=31)),
    ]
    assert events[0].pgh_context_id is None
    assert events[1].pgh_context.metadata == {
        "source": "django-simple-history",
        "user": fiona.pk,
        "reason": "January done",
    }
    assert events[1].pgh_obj_id == jan.pk and events[1].closed_by_id == fiona.pk
    copied = event_model(type(contract)).objects.filter(pgh_obj_id=contract.pk, pgh_label="delete")
    assert copied.get().number == contract.number

    # and the audit trail shows the copied change by name, with its reason
    _spec, changes = audit_trail(target="period", pk=jan.pk)
    closing = next(c for c in changes if c.at == when + timedelta(days=31))
    assert (closing.user, closing.kind, closing.reason) == ("Fiona Fin", "changed", "January done")
    assert ("closed by", "—", "Fiona Fin") in closing.fields


def test_an_empty_old_history_copies_nothing(old_history):
    before = event_model(Invoice).objects.count()
    copy_history(old_history, None)
    assert event_model(Invoice).objects.count() == before
