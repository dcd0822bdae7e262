"""Burn alerts (ledger.services.budget_alerts): raised once per crossing of a project's warning and budget
levels, by hours, by amount and by forecast; cleared when the budget is raised or actual falls back; shown in the
exception queue, on the PM's home page and the project's budget panel; emitted as `project.budget_threshold`."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ledger.choices import BudgetAlertKind
from ledger.models import BudgetAlert
from ledger.services.budget_alerts import budget_alerts_check
from projects.models import Project, TimeEntry
from projects.services import project_alert_levels_set
from psa.core.exceptions import PermissionDeniedError, ValidationFailed
from psa.core.models import Event
from psa.web.exception_queue import exception_scan
from tests.factories import UserFactory
from tests.projects.test_budget import AS_OF, consultant, entry, hand_built

pytestmark = pytest.mark.django_db
D = Decimal
K = BudgetAlertKind


def kinds(project) -> set[str]:
    return set(BudgetAlert.objects.filter(project=project, cleared_at__isnull=True).values_list("kind", flat=True))


@pytest.fixture
def burning():
    """A 100 h / 15,000.00 project, active, managed by a PM, with 85 h approved at 150 (12,750.00, 85 %)."""
    pm = UserFactory(roles=["project_manager"])
    project, line, design, _ = hand_built()
    Project.objects.filter(pk=project.pk).update(status="active", project_manager=pm, end_date=None)
    who = consultant()
    for day in range(10):
        entry(project, who=who, day=dt.date(2027, 1, 4) + dt.timedelta(days=day), hours="8.5", task=design, line=line)
    project.refresh_from_db()
    return project, line, design, who, pm


def test_crossing_the_warning_level_raises_one_alert_per_dimension_once(burning):
    project, *_ = burning
    first = budget_alerts_check(as_of=AS_OF)
    assert {a.kind for a in first.raised} == {K.HOURS_WARNING, K.AMOUNT_WARNING}
    alert = BudgetAlert.objects.get(project=project, kind=K.HOURS_WARNING)
    assert (alert.percent, alert.actual, alert.budget, alert.threshold_percent) == (D("85.0"), D("85"), D("100"), 80)
    again = budget_alerts_check(as_of=AS_OF)
    assert again.raised == [] and again.cleared == 0
    assert BudgetAlert.objects.count() == 2
    events = Event.objects.filter(type="project.budget_threshold")
    assert events.count() == 2
    assert {e.data["kind"] for e in events} == {"hours_warning", "amount_warning"}
    assert next(e for e in events if e.data["kind"] == "amount_warning").data["currency"] == project.currency


def test_passing_the_budget_clears_the_warning_and_raises_the_budget_alert(burning):
    project, line, design, who, _ = burning
    budget_alerts_check(as_of=AS_OF)
    for day in (20, 21):
        entry(project, who=who, day=dt.date(2027, 1, day), hours="10", task=design, line=line)
    result = budget_alerts_check(as_of=AS_OF)
    assert {a.kind for a in result.raised} == {K.HOURS_OVER, K.AMOUNT_OVER, K.FORECAST_OVER}
    assert kinds(project) == {K.HOURS_OVER, K.AMOUNT_OVER, K.FORECAST_OVER}
    warning = BudgetAlert.objects.get(project=project, kind=K.HOURS_WARNING)
    assert warning.cleared_reason == "Passed the budget."


def test_a_change_order_raising_the_budget_clears_the_alert_and_a_new_crossing_raises_a_new_one(burning):
    project, line, design, who, _ = burning
    budget_alerts_check(as_of=AS_OF)
    Project.objects.filter(pk=project.pk).update(budget_hours=D("200"), budget_amount=D("30000.00"))
    result = budget_alerts_check(as_of=AS_OF)
    assert result.cleared == 2 and kinds(project) == set()
    reasons = set(BudgetAlert.objects.values_list("cleared_reason", flat=True))
    assert reasons == {"Budget raised from 100.00 to 200.00.", "Budget raised from 15,000.00 to 30,000.00."}
    for day in range(10):
        entry(project, who=who, day=dt.date(2027, 2, 1) + dt.timedelta(days=day), hours="8", task=design, line=line)
    assert {a.kind for a in budget_alerts_check(as_of=AS_OF).raised} >= {K.HOURS_WARNING}
    assert BudgetAlert.objects.filter(project=project, kind=K.HOURS_WARNING).count() == 2


def test_rejected_time_back_below_the_level_clears_it(burning):
    project, *_ = burning
    budget_alerts_check(as_of=AS_OF)
    TimeEntry.objects.filter(project=project, date__gte=dt.date(2027, 1, 10)).update(status="rejected")
    assert budget_alerts_check(as_of=AS_OF).cleared == 2
    assert set(BudgetAlert.objects.values_list("cleared_reason", flat=True)) == {"Back below the level."}


def test_the_levels_are_the_projects_own(burning):
    project, _, _, _, pm = burning
    project_alert_levels_set(project_id=project.pk, warning="90", over="120", by=pm)
    assert budget_alerts_check(as_of=AS_OF).raised == []
    with pytest.raises(ValidationFailed) as caught:
        project_alert_levels_set(project_id=project.pk, warning="120", over="100", by=pm)
    assert "must be below the budget level" in caught.value.fields["alert_warning_percent"][0]
    with pytest.raises(ValidationFailed) as caught:
        project_alert_levels_set(project_id=project.pk, warning="eighty", over="100", by=pm)
    assert "alert_warning_percent" in caught.value.fields
    other_pm = UserFactory(roles=["project_manager"])
    with pytest.raises(PermissionDeniedError):
        project_alert_levels_set(project_id=project.pk, warning="50", over="100", by=other_pm)
    project.refresh_from_db()
    assert (project.alert_warning_percent, project.alert_over_percent) == (90, 120)


def test_one_open_alert_per_project_and_kind_in_the_database(burning):
    project, *_ = burning
    budget_alerts_check(as_of=AS_OF)
    with pytest.raises(IntegrityError), transaction.atomic():
        BudgetAlert.objects.create(
            project=project, kind=K.HOURS_WARNING, threshold_percent=80, percent=1, actual=1, budget=1
        )


def test_alerts_show_in_the_exception_queue_on_the_pms_home_and_in_the_budget_panel(burning, client):
    project, _, _, _, pm = burning
    budget_alerts_check(as_of=AS_OF)
    items = exception_scan(as_of=AS_OF, rules=["budget_threshold"]).open["budget_threshold"]
    assert [i.title for i in items] == [
        f"{project.code}: Amount at the warning level",
        f"{project.code}: Hours at the warning level",
    ] or len(items) == 2
    assert any("85.00 h of a 100.00 h budget (85.0 %)" in i.detail for i in items)
    client.force_login(pm)
    home = client.get(reverse("home"))
    assert home.status_code == 200
    assert "Budget alerts" in home.text and "Hours at the warning level" in home.text
    panel = client.get(reverse("ledger:project_budget", args=[project.pk]))
    assert panel.status_code == 200
    assert panel.text.count('data-testid="burn-alert"') == 2 and 'data-testid="alert-levels"' in panel.text


def test_the_level_form_refuses_another_pm_and_saves_for_the_projects_own(burning, client):
    project, _, _, _, pm = burning
    client.force_login(UserFactory(roles=["project_manager"]))
    client.post(
        reverse("projects:project-alert-levels", args=[project.pk]),
        {"alert_warning_percent": "50", "alert_over_percent": "90"},
    )
    project.refresh_from_db()
    assert project.alert_warning_percent == 80
    client.force_login(pm)
    response = client.post(
        reverse("projects:project-alert-levels", args=[project.pk]),
        {"alert_warning_percent": "70", "alert_over_percent": "95"},
    )
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.alert_warning_percent, project.alert_over_percent) == (70, 95)


QUERIES: dict[int, int] = {}


@pytest.mark.parametrize("n", [2, 8])
def test_the_check_takes_a_fixed_number_of_queries(n):
    """Reading and deciding is a fixed number of queries; writing is one bulk insert plus each raised alert's
    webhook event (a business event per crossing, like every other event)."""
    for i in range(n):
        project, line, design, _ = hand_built(f"QA-{n}-{i}")
        Project.objects.filter(pk=project.pk).update(status="active", end_date=None)
        who = consultant()
        for day in range(9):
            on = dt.date(2027, 1, 5) + dt.timedelta(days=day)
            entry(project, who=who, day=on, hours="10", task=design, line=line)
    assert len(budget_alerts_check(as_of=AS_OF).raised) == 2 * n
    with CaptureQueriesContext(connection) as steady:
        assert budget_alerts_check(as_of=AS_OF).raised == []
    QUERIES[n] = len(steady)
    assert len(steady) <= 12
    if len(QUERIES) == 2:
        assert QUERIES[2] == QUERIES[8]
