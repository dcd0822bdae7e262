"""Budget against actual on hand-built projects: each figure (actual, cost, value, remaining, percent burned,
forecast at completion by estimate and by run-rate), and a fixed number of queries whatever the size."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.choices import BillingModel
from ledger.models import ProjectEstimate
from ledger.selectors.budget import budget_with_estimates
from projects.models import Consultant, Contract, ContractLine, Project, Task, TimeEntry
from projects.selectors.budget import budget_vs_actual, weekly_burn
from tests.crm.factories import AccountFactory, RoleFactory
from tests.factories import UserFactory
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2027, 3, 1)  # a Monday
D = Decimal


def hand_built(
    code: str = "BUD-1", *, end: dt.date | None = dt.date(2027, 4, 12), start: dt.date = dt.date(2027, 1, 4)
):
    """A project of 100 h / 15,000.00 with two tasks (60 h, 40 h) and one T&M line (100 h, 15,000.00)."""
    account = AccountFactory()
    project = Project.objects.create(
        code=code, name=code, account=account, budget_hours=D("100"), budget_amount=D("15000.00"),
        start_date=start, end_date=end,
    )  # fmt: skip
    contract = Contract.objects.create(
        number=f"C-{code}", account=account, project=project, payment_terms_days=30,
        start_date=dt.date(2027, 1, 4), end_date=dt.date(2027, 12, 31),
    )  # fmt: skip
    line = ContractLine.objects.create(
        contract=contract, description="Build", billing_model=BillingModel.TIME_AND_MATERIALS, hours=D("100"),
        rate=D("150"), price=D("15000.00"), start_date=dt.date(2027, 1, 4), end_date=dt.date(2027, 12, 31),
    )  # fmt: skip
    design = Task.objects.create(project=project, name="Design", order=1, budget_hours=D("60"))
    build = Task.objects.create(project=project, name="Build", order=2, budget_hours=D("40"))
    return project, line, design, build


def consultant(n: int = 0) -> Consultant:
    return Consultant.objects.create(user=UserFactory(), role=RoleFactory(code="senior", name="Senior"))


def entry(project, *, who, day, hours, task=None, line=None, status="approved", cost="80", rate="150", billable=True):
    return TimeEntry.objects.create(
        consultant=who, project=project, task=task, date=day, hours=D(hours), status=status, contract_line=line,
        billable=billable, bill_rate=D(rate) if rate else None, cost_rate=D(cost) if cost else None,
        approved_at=timezone.now() if status == "approved" else None,
    )  # fmt: skip


def test_actuals_cost_value_remaining_and_percent_burned():
    project, line, design, build = hand_built()
    carl = consultant()
    entry(project, who=carl, day=dt.date(2027, 1, 5), hours="8", task=design, line=line)
    entry(project, who=carl, day=dt.date(2027, 1, 6), hours="7.5", task=build, line=line, cost="90")
    entry(project, who=carl, day=dt.date(2027, 1, 7), hours="4", task=build, line=line, billable=False)
    entry(project, who=carl, day=dt.date(2027, 1, 8), hours="6", task=design, line=line, status="submitted")
    entry(project, who=carl, day=dt.date(2027, 1, 11), hours="3", task=design, line=line, status="draft")
    entry(project, who=carl, day=dt.date(2027, 1, 12), hours="2", line=line, status="rejected")

    b = budget_vs_actual(project_ids=[project.pk], as_of=AS_OF)[project.pk]
    f = b.figures
    assert f.actual_hours == D("19.50")  # approved only: 8 + 7.5 + 4
    assert f.submitted_hours == D("6.00")  # shown apart, not actual
    assert f.cost == D("8") * 80 + D("7.5") * 90 + D("4") * 80  # 640 + 675 + 320 = 1635
    assert f.value == D("2325.00")  # billable approved 15.5 h x 150, valued once per group
    assert f.remaining_hours == D("80.50")
    assert f.remaining_amount == D("12675.00")
    assert f.percent_burned == D("19.5")
    assert f.percent_amount_burned == D("15.5")

    tasks = {t.name: t.figures for t in b.tasks}
    assert tasks["Design"].actual_hours == D("8") and tasks["Design"].remaining_hours == D("52")
    assert tasks["Design"].percent_burned == D("13.3")
    assert tasks["Build"].actual_hours == D("11.5") and tasks["Build"].value == D("1125.00")
    assert tasks["Build"].cost == D("995.00")
    (line_fig,) = b.lines
    assert line_fig.figures.actual_hours == D("19.5") and line_fig.figures.value == D("2325.00")
    assert line_fig.figures.budget_amount == D("15000.00") and line_fig.figures.remaining_hours == D("80.5")


def test_value_is_billing_value_per_group_not_per_entry():
    project, line, _design, _build = hand_built()
    carl = consultant()
    for day in (4, 5, 6):
        entry(project, who=carl, day=dt.date(2027, 1, day), hours="0.10", line=line, rate="141.75")
    f = budget_vs_actual(project_ids=[project.pk], as_of=AS_OF)[project.pk].figures
    assert f.value == D("42.53")  # round(0.30 x 141.75) once, not 3 x 14.18


def test_forecast_at_completion_by_run_rate():
    project, line, design, _build = hand_built(end=dt.date(2027, 4, 12))  # 6 weeks after AS_OF
    carl = consultant()
    entry(project, who=carl, day=dt.date(2027, 1, 5), hours="10", task=design, line=line)  # before the window
    for week in range(6):  # 6 h a week for the last six weeks: 1 h/week
        entry(project, who=carl, day=AS_OF - dt.timedelta(days=7 * week + 1), hours="6", task=design, line=line)
    f = budget_vs_actual(project_ids=[project.pk], as_of=AS_OF, weeks=6)[project.pk].figures
    assert f.actual_hours == D("46")
    assert f.forecast_method == "run-rate"
    assert f.forecast_hours == D("82.00")  # 46 + 36 h / 6 weeks x 6 weeks left
    assert f.forecast_percent == D("82.0") and not f.over_budget


def test_forecast_without_end_date_or_recent_time_is_the_actual():
    project, line, design, _build = hand_built(end=None)
    entry(project, who=consultant(), day=dt.date(2027, 2, 25), hours="5", task=design, line=line)
    f = budget_vs_actual(project_ids=[project.pk], as_of=AS_OF)[project.pk].figures
    assert (f.forecast_method, f.forecast_hours) == ("actual", D("5"))


def test_forecast_at_completion_by_the_pms_estimate():
    project, line, design, _build = hand_built()
    other, other_line, other_design, _ = hand_built("BUD-2")
    carl = consultant()
    entry(project, who=carl, day=dt.date(2027, 2, 22), hours="8", task=design, line=line)
    entry(other, who=carl, day=dt.date(2027, 2, 23), hours="8", task=other_design, line=other_line)
    ProjectEstimate.objects.create(project=project, as_of=dt.date(2027, 2, 1), etc_hours=D("200"))
    ProjectEstimate.objects.create(project=project, as_of=dt.date(2027, 2, 26), etc_hours=D("120"))
    ProjectEstimate.objects.create(project=project, as_of=dt.date(2027, 3, 5), etc_hours=D("1"))  # after AS_OF
    out = budget_with_estimates(project_ids=[project.pk, other.pk], as_of=AS_OF)
    f = out[project.pk].figures
    assert (f.forecast_method, f.forecast_hours) == ("estimate", D("128"))  # 8 actual + the latest 120
    assert f.over_budget and f.forecast_percent == D("128.0")
    assert out[other.pk].figures.forecast_method == "run-rate"  # no estimate: the run-rate


def test_weekly_burn_is_cumulative_per_week():
    project, line, design, _build = hand_built()
    carl = consultant()
    entry(project, who=carl, day=dt.date(2027, 1, 5), hours="8", task=design, line=line)
    entry(project, who=carl, day=dt.date(2027, 1, 6), hours="2", task=design, line=line)
    entry(project, who=carl, day=dt.date(2027, 1, 13), hours="5", task=design, line=line)
    entry(project, who=carl, day=dt.date(2027, 1, 14), hours="5", task=design, line=line, status="submitted")
    assert weekly_burn(project_id=project.pk, as_of=AS_OF) == [
        (dt.date(2027, 1, 4), D("10")),
        (dt.date(2027, 1, 11), D("15")),
    ]


@pytest.mark.parametrize("size", [1, 4])
def test_a_fixed_number_of_queries_whatever_the_size(size):
    ids = []
    carl = consultant()
    for n in range(size):
        project, line, design, _build = hand_built(f"Q-{n}")
        ids.append(project.pk)
        for day in range(size * 3):
            entry(
                project, who=carl, day=dt.date(2027, 1, 4) + dt.timedelta(days=day), hours="1", task=design, line=line
            )
        ProjectEstimate.objects.create(project=project, as_of=dt.date(2027, 2, 1), etc_hours=D("10"))
    sent, out = count_queries(lambda: budget_with_estimates(project_ids=ids, as_of=AS_OF))
    assert sent == 6
    assert len(out) == size


# --- the panel on the project page (served by the ledger, which owns the estimates) -------------------------
PAST = timezone.localdate() - dt.timedelta(days=3)


def panel(client, user, project):
    client.force_login(user)
    return client.get(reverse("ledger:project_budget", args=[project.pk]))


@pytest.mark.parametrize("roles", [["consultant"], ["client"]])
def test_consultants_and_clients_cannot_see_a_projects_figures(client, roles):
    project, line, design, _build = hand_built()
    entry(project, who=consultant(), day=PAST, hours="8", task=design, line=line)
    response = panel(client, UserFactory(roles=roles), project)
    assert response.status_code == 403
    assert b"burn" not in response.content
    # Not even a consultant booked on the project.
    me = Consultant.objects.create(user=UserFactory(roles=roles), role=RoleFactory(code="senior"))
    entry(project, who=me, day=PAST, hours="8", task=design, line=line)
    response = panel(client, me.user, project)
    assert response.status_code == 403
    assert b"burn" not in response.content


def test_cost_shows_only_to_the_roles_that_may_see_cost_rates(client):
    project, line, design, _build = hand_built()
    entry(project, who=consultant(), day=PAST, hours="8", task=design, line=line)
    ProjectEstimate.objects.create(project=project, as_of=PAST, etc_hours=D("50"))
    for roles, sees_cost in ((["finance"], True), (["admin"], True), (["project_manager"], False), (["sales"], False)):
        response = panel(client, UserFactory(roles=roles), project)
        assert response.status_code == 200, roles
        html = response.content.decode()
        assert 'data-testid="burn-percent">8.0%' in html
        assert "actual + the PM's estimate to complete" in html
        assert ('data-testid="burn-cost"' in html) is sees_cost, roles
        assert 'data-testid="burn-chart"' in html


def test_the_project_page_loads_the_panel(client):
    project, *_ = hand_built()
    client.force_login(UserFactory(roles=["project_manager"]))
    response = client.get(reverse("projects:project", args=[project.pk]))
    assert reverse("ledger:project_budget", args=[project.pk]) in response.content.decode()


# --- the project list: percent burned, forecast, sortable by who burns fastest -------------------------------
def _list_projects(n: int, offset: int, who: Consultant) -> list[Project]:
    out = []
    for i in range(n):
        project, line, design, build = hand_built(f"L-{offset + i}", end=None)
        for day in range(3):
            entry(project, who=who, day=PAST - dt.timedelta(days=day), hours="2", task=design, line=line)
        entry(project, who=who, day=PAST, hours="1", task=build, line=line, status="submitted")
        out.append(project)
    return out


@pytest.mark.parametrize("sort", ["-burned", "-burning"])
def test_the_project_list_with_budget_figures_issues_the_same_queries_at_two_sizes(client, sort):
    client.force_login(UserFactory(roles=["project_manager"]))
    who = consultant()
    url = f"/projects/?sort={sort}"
    _list_projects(2, 0, who)
    small, response = count_queries(lambda: client.get(url))
    assert 'data-testid="list-burned"' in response.content.decode()
    _list_projects(10, 100, who)
    large, _ = count_queries(lambda: client.get(url))
    assert large == small


def test_the_project_list_sorts_who_burns_fastest_first(client):
    client.force_login(UserFactory(roles=["project_manager"]))
    who = consultant()
    slow, line, design, _ = hand_built("SLOW")
    entry(slow, who=who, day=PAST - dt.timedelta(weeks=20), hours="8", task=design, line=line)  # long ago
    entry(slow, who=who, day=PAST - dt.timedelta(weeks=20, days=1), hours="8", task=design, line=line)
    fast, line, design, _ = hand_built("FAST")
    entry(fast, who=who, day=PAST, hours="8", task=design, line=line)  # 8 % of budget this week
    none, *_ = hand_built("NONE")
    Project.objects.filter(pk=none.pk).update(budget_hours=0)  # no budget: sorts last
    html = client.get("/projects/?sort=-burning").content.decode()
    assert html.index("FAST") < html.index("SLOW") < html.index("NONE")
    html = client.get("/projects/?sort=-burned").content.decode()
    assert html.index("SLOW") < html.index("FAST")  # 16 % burned to date against 8 %
    assert "16.0%" in html and "8.0%" in html


# --- the project API: read-only budget figures ------------------------------------------------------------------
def test_the_project_api_gives_the_budget_figures_and_cost_only_to_cost_roles(client):
    project, line, design, _build = hand_built()
    entry(project, who=consultant(), day=PAST, hours="8", task=design, line=line)
    for roles, cost in ((["finance"], "640.00"), (["project_manager"], None)):
        client.force_login(UserFactory(roles=roles))
        (row,) = client.get("/api/v1/projects/").json()["results"]
        budget = row["budget"]
        assert budget["actual_hours"] == "8.00" and budget["remaining_hours"] == "92.00"
        assert budget["percent_burned"] == "8.0" and budget["value"] == "1200.00"
        assert budget["forecast_method"] in ("run-rate", "actual") and budget["cost"] == cost
        detail = client.get(f"/api/v1/projects/{project.pk}/").json()
        assert detail["budget"] == budget
    client.force_login(UserFactory(roles=["consultant"]))
    assert client.get(f"/api/v1/projects/{project.pk}/").status_code == 403


def test_the_project_api_issues_the_same_queries_at_two_sizes(client):
    client.force_login(UserFactory(roles=["project_manager"]))
    who = consultant()
    _list_projects(2, 0, who)
    small, _ = count_queries(lambda: client.get("/api/v1/projects/"))
    _list_projects(10, 100, who)
    large, _ = count_queries(lambda: client.get("/api/v1/projects/"))
    assert large == small
