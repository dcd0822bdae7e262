"""Home panels for time and the staffing admin pages."""

import pytest
from django.urls import reverse

from projects.services import time as ts
from tests.projects.time_factories import MONDAY, consultant_on, won_project

pytestmark = pytest.mark.django_db


def test_a_consultant_sees_their_week_and_a_pm_the_approvals_waiting(client):
    setup = won_project()
    carl = consultant_on(setup)
    ts.time_entry_put(by=carl.user, consultant_id=carl.pk, project_id=setup.project.pk, task_id=None, day=MONDAY,
                      hours="8")  # fmt: skip
    ts.timesheet_submit(by=carl.user, consultant_id=carl.pk, week=MONDAY)
    client.force_login(carl.user)
    titles = [p.title for p in client.get("/").context["panels"]]
    assert "My timesheet" in titles
    client.force_login(setup.pm)
    panel = next(p for p in client.get("/").context["panels"] if p.title == "Approvals")
    assert panel.figures[0].value == 1 and panel.figures[0].hint == "8.00 h"


@pytest.mark.parametrize("model", ["consultant", "allocation", "timeentry", "expense", "skill"])
def test_the_staffing_admin_pages_open(admin_client, model):
    setup = won_project()
    consultant_on(setup)
    assert admin_client.get(reverse(f"admin:projects_{model}_changelist")).status_code == 200
