"""The estimate-to-complete panel on the project page (owned by ledger, loaded over HTMX): the project's manager
or finance records an estimate; a negative one comes back inline with a 400 and nothing saved; other PMs read
it without a form; roles that may not see it are refused, in the panel and in the service."""

from decimal import Decimal

import pytest

from ledger.models import ProjectEstimate
from ledger.services.revenue import estimate_set
from psa.core.exceptions import PermissionDeniedError
from tests.projects.time_factories import MONDAY, consultant_on, won_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    return won_project()


def url(project) -> str:
    return f"/ledger/revenue/projects/{project.pk}/estimate/"


def test_the_pm_records_an_estimate_and_sees_the_estimate_at_completion(client, setup):
    from projects.services import time as ts

    carl = consultant_on(setup)
    ts.time_entry_put(
        by=carl.user, consultant_id=carl.pk, project_id=setup.project.pk, task_id=None, day=MONDAY, hours="6"
    )
    ts.timesheet_submit(by=carl.user, consultant_id=carl.pk, week=MONDAY)
    ts.time_entries_approve(by=setup.pm, entry_ids=list(setup.project.time_entries.values_list("pk", flat=True)))
    client.force_login(setup.pm)
    page = client.get(f"/projects/{setup.project.pk}/").content.decode()
    assert 'data-testid="estimate-slot"' in page and url(setup.project) in page
    response = client.post(url(setup.project), {"as_of": "2027-01-15", "etc_hours": "94", "note": "on plan"})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="eac-hours">100.00<' in html  # 6 approved + 94 to go
    estimate = ProjectEstimate.objects.get()
    assert (estimate.etc_hours, estimate.created_by, estimate.note) == (Decimal("94.00"), setup.pm, "on plan")


def test_a_negative_estimate_comes_back_inline_and_nothing_is_saved(client, setup):
    client.force_login(setup.pm)
    response = client.post(url(setup.project), {"as_of": "2027-01-15", "etc_hours": "-5"})
    assert response.status_code == 400
    assert "cannot be negative" in response.content.decode()
    assert not ProjectEstimate.objects.exists()


def test_another_pm_reads_without_a_form_and_may_not_post(client, make_user, setup):
    other = make_user("project_manager")
    client.force_login(other)
    page = client.get(url(setup.project))
    assert page.status_code == 200 and 'data-testid="estimate-form"' not in page.content.decode()
    assert client.post(url(setup.project), {"as_of": "2027-01-15", "etc_hours": "5"}).status_code == 403
    with pytest.raises(PermissionDeniedError):
        estimate_set(project_id=setup.project.pk, etc_hours="5", by=other)
    assert not ProjectEstimate.objects.exists()


def test_finance_may_estimate_and_sales_and_consultants_are_refused(client_as, client, setup):
    assert client_as("finance").post(url(setup.project), {"as_of": "2027-01-15", "etc_hours": "5"}).status_code == 200
    assert ProjectEstimate.objects.count() == 1
    for role in ("sales", "consultant"):
        client.logout()
        assert client_as(role).get(url(setup.project)).status_code == 403
