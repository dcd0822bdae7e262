"""The staffing heatmap computes the capacity matrix once per view and pages the people; the role bench read
from that matrix is the one computed on its own."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from projects.selectors import capacity_heatmap, role_bench_vs_demand
from projects.views.staffing import HEATMAP_PAGE_SIZE
from tests.projects.time_factories import MONDAY, consultant_on
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db


def test_each_heatmap_row_names_its_consultant_and_the_bench_from_a_given_matrix_matches_its_own(setup):
    people = [consultant_on(setup) for _ in range(3)]
    weeks, rows = capacity_heatmap(start=MONDAY, weeks=2)
    assert {r.consultant.pk for r in rows} == {c.pk for c in people}
    assert role_bench_vs_demand(start=MONDAY, weeks=2, heat=(weeks, rows)) == role_bench_vs_demand(
        start=MONDAY, weeks=2
    )


def test_the_heatmap_pages_people_and_keeps_the_week_in_the_page_links(client, setup, monkeypatch):
    monkeypatch.setattr("projects.views.staffing.HEATMAP_PAGE_SIZE", 2)
    for _ in range(3):
        consultant_on(setup)
    client.force_login(setup.pm)
    first = client.get(reverse("projects:heatmap"), {"start": MONDAY.isoformat()})
    assert first.status_code == 200 and len(first.context["page_obj"]) == 2
    assert f"start={MONDAY.isoformat()}&amp;page=2" in first.content.decode()
    second = client.get(reverse("projects:heatmap"), {"start": MONDAY.isoformat(), "page": 2})
    assert len(second.context["page_obj"]) == 1
    assert len(second.context["roles"]) == 1  # the role bench still counts everyone, not only the page


def test_the_heatmap_costs_the_same_queries_at_two_sizes(client, setup, settings):
    assert HEATMAP_PAGE_SIZE >= 25
    settings.PSA_PAGE_CACHE_SECONDS = 0  # computed on every request (the reuse is tested below)
    client.force_login(setup.pm)
    consultant_on(setup)
    url = reverse("projects:heatmap")
    small, _ = count_queries(lambda: client.get(url, {"start": MONDAY.isoformat()}), status=200)
    for _ in range(4):
        consultant_on(setup)
    large, _ = count_queries(lambda: client.get(url, {"start": MONDAY.isoformat()}), status=200)
    assert large == small


def test_the_heatmap_is_reused_within_the_bound_says_since_when_and_costs_the_same_at_two_sizes(client, setup):
    client.force_login(setup.pm)
    url = reverse("projects:heatmap")
    query = {"start": MONDAY.isoformat()}

    def reused_cost():
        cache.clear()
        computed, _ = count_queries(lambda: client.get(url, query), status=200)
        reused, page = count_queries(lambda: client.get(url, query), status=200)
        return computed, reused, page

    first = consultant_on(setup)
    small_computed, small, page = reused_cost()
    assert 'data-testid="computed-note"' in page.content.decode() and str(first) in page.content.decode()
    later = [consultant_on(setup) for _ in range(4)]
    stale = client.get(url, query).content.decode()
    assert str(later[0]) not in stale  # the reused tables, computed before these consultants
    large_computed, large, page = reused_cost()
    assert large_computed >= small_computed
    assert str(later[0]) in page.content.decode()
    assert large == small and small < small_computed
