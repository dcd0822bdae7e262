"""The approved-time summary (billing.models.TimeSummary): after approving, rejecting, editing and billing time the
refreshed summary equals a direct aggregation of the entries to the cent; refreshing is idempotent and safe twice
at once; the dashboard and the exception queue give the same figures from it as from the entries, say how old
they are, compute directly when time changed after the last refresh, and keep a constant query count."""

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, DecimalField, Exists, ExpressionWrapper, F, OuterRef, Sum

from billing.choices import SourceKind
from billing.models import SourceLink, TimeSummary, TimeSummaryRefresh
from billing.selectors.time_summary import summary_state
from billing.services import invoice_cancel, invoice_draft_for_contract
from billing.services.time_summary import time_summary_refresh
from billing.tasks import time_summary_refresh_task
from ledger.services.revenue import estimate_set
from projects.choices import EntryStatus
from projects.models import Contract, TimeEntry
from projects.services import time as ts
from projects.services.staffing import time_cost_rate_correct
from psa.core.money import round_money
from psa.web.dashboard import executive_dashboard
from psa.web.exception_queue import RULE_FUNCS, SUMMARY_RULES, exception_scan
from tests.billing.factories import approved_entry, make_consultant, make_periods, tm_contract
from tests.projects.time_factories import MONDAY, consultant_on, won_project
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db

VALUE = DecimalField(max_digits=24, decimal_places=6)
AS_OF = date(2026, 6, 15)


def direct() -> dict:
    """Approved time per (day, project, line, billable, billed) summed from the entries themselves."""
    billed = SourceLink.objects.filter(kind=SourceKind.TIME_ENTRY, source_id=OuterRef("pk"), released_at__isnull=True)
    rows = (
        TimeEntry.objects.filter(status=EntryStatus.APPROVED)
        .annotate(is_billed=Exists(billed))
        .values("date", "project_id", "contract_line_id", "billable", "is_billed")
        .annotate(
            n=Count("id"),
            h=Sum("hours"),
            v=Sum(ExpressionWrapper(F("hours") * F("bill_rate"), output_field=VALUE)),
            c=Sum(ExpressionWrapper(F("hours") * F("cost_rate"), output_field=VALUE)),
        )
        .order_by()
    )
    return {
        (r["date"], r["project_id"], r["contract_line_id"], r["billable"], r["is_billed"]): (
            r["n"], r["h"], round_money(r["v"]), round_money(r["c"] or 0)
        )
        for r in rows
    }  # fmt: skip


def summarised() -> dict:
    out = {}
    for s in TimeSummary.objects.all():
        assert s.month == s.date.replace(day=1)
        out[(s.date, s.project_id, s.contract_line_id, s.billable, s.billed)] = (
            s.entries, s.hours, round_money(s.value), round_money(s.cost)
        )  # fmt: skip
    return out


def put(consultant, project, day, hours):
    return ts.time_entry_put(
        by=consultant.user, consultant_id=consultant.pk, project_id=project.pk, task_id=None, day=day, hours=hours
    )


def test_the_refreshed_summary_equals_the_entries_after_approving_rejecting_editing_and_billing(make_user):
    make_periods(start=date(2026, 1, 1), through=date(2027, 12, 31))
    setup = won_project()
    carl, dora = consultant_on(setup), consultant_on(setup)
    for who in (carl, dora):
        for i in range(3):
            put(who, setup.project, MONDAY + timedelta(days=i), "7.5")
        ts.timesheet_submit(by=who.user, consultant_id=who.pk, week=MONDAY)
    carls = list(TimeEntry.objects.filter(consultant=carl).values_list("pk", flat=True))
    doras = list(TimeEntry.objects.filter(consultant=dora).values_list("pk", flat=True))
    ts.time_entries_approve(by=setup.pm, entry_ids=carls)
    ts.time_entries_reject(by=setup.pm, entry_ids=doras, reason="wrong project")
    time_summary_refresh()
    assert summarised() == direct() and sum(v[0] for v in summarised().values()) == 3

    # the rejected time is edited, submitted again and approved; a cost rate is corrected on approved time
    for pk in doras:
        ts.time_entry_update(by=dora.user, entry_id=pk, hours="6.25")
    ts.timesheet_submit(by=dora.user, consultant_id=dora.pk, week=MONDAY)
    ts.time_entries_approve(by=setup.pm, entry_ids=doras)
    time_cost_rate_correct(by=setup.admin, consultant_id=carl.pk, from_date=MONDAY)
    assert summary_state() is not None and not summary_state().current
    time_summary_refresh()
    assert summary_state().current
    assert summarised() == direct() and sum(v[0] for v in summarised().values()) == 6

    # billed: a draft invoice links the time; discarding it releases the links again. The entries are dated back
    # out of the refresh's look-back, so only the source links can tell the refresh which months changed.
    TimeEntry.objects.update(updated_at=F("updated_at") - timedelta(hours=2))
    TimeSummaryRefresh.objects.update(as_of=F("as_of") - timedelta(hours=1))
    assert time_summary_refresh().months == 0
    contract = Contract.objects.get(project=setup.project)
    with transaction.atomic():
        draft = invoice_draft_for_contract(contract=contract, period_end=MONDAY + timedelta(days=6))
    assert not summary_state().current
    time_summary_refresh()
    assert summarised() == direct()
    assert all(key[4] for key in summarised() if key[3])  # every billable day is billed now
    # the release alone must tell the refresh: the links are older than its link look-back, the entries too
    TimeSummaryRefresh.objects.update(as_of=F("as_of") - timedelta(hours=1), margin_link_id=F("last_link_id"))
    invoice_cancel(invoice_id=draft.pk, by=make_user("finance"))
    time_summary_refresh()
    assert summarised() == direct()
    assert not any(key[4] for key in summarised())


def test_refreshing_again_changes_nothing_and_a_full_refresh_gives_the_same_rows():
    _c, line = tm_contract()
    ada = make_consultant()
    for i in range(5):
        approved_entry(line, ada, date(2026, 3, 2) + timedelta(days=i * 9), "3.33", "123.4567")
    first = time_summary_refresh()
    assert first.months == 2 and summarised() == direct()
    rows = list(TimeSummary.objects.order_by("date").values_list("date", "hours", "value", "cost"))
    again = time_summary_refresh()
    assert again.months == 2  # the entries were written within the look-back margin: recomputed, same rows
    assert list(TimeSummary.objects.order_by("date").values_list("date", "hours", "value", "cost")) == rows
    time_summary_refresh(full=True)
    assert list(TimeSummary.objects.order_by("date").values_list("date", "hours", "value", "cost")) == rows
    # outside the margin only what changed is recomputed
    TimeSummaryRefresh.objects.update(as_of=F("as_of") + timedelta(hours=1))
    assert time_summary_refresh().months == 0


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_at_once_run_one_after_the_other_and_leave_the_right_rows():
    _c, line = tm_contract()
    ada = make_consultant()
    for i in range(20):
        approved_entry(line, ada, date(2026, 1, 5) + timedelta(days=i * 7), "4", "100")
    barrier, errors = threading.Barrier(2), []

    def run():
        try:
            barrier.wait()
            time_summary_refresh(full=True)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert summarised() == direct() and TimeSummaryRefresh.objects.count() == 1


def _exception_data(make_user):
    make_periods(start=date(2026, 1, 1), through=date(2026, 12, 31))
    contract, line = tm_contract(cap="1000.00")
    ada = make_consultant()
    approved_entry(line, ada, AS_OF - timedelta(days=45), "2.5", "120")
    approved_entry(line, ada, AS_OF - timedelta(days=31), "5", "100")
    for i in range(4):
        approved_entry(line, ada, AS_OF - timedelta(days=i + 1), "0.5", "100")
    approved_entry(line, ada, AS_OF - timedelta(days=28), "1", "100")  # just outside the 28-day burn
    approved_entry(line, ada, AS_OF - timedelta(days=40), "4", "100", billable=False)
    billed_contract, billed_line = tm_contract()
    approved_entry(billed_line, ada, AS_OF - timedelta(days=60), "3", "100")
    with transaction.atomic():
        invoice_draft_for_contract(contract=billed_contract, period_end=AS_OF)
    approved_entry(billed_line, ada, AS_OF - timedelta(days=50), "1.25", "99.99")
    pm = make_user("project_manager")
    type(contract.project).objects.filter(pk=contract.project_id).update(project_manager=pm)
    estimate_set(by=pm, project_id=contract.project_id, etc_hours=Decimal("1"), etc_cost=Decimal("99900"), as_of=AS_OF)
    return contract


def test_the_exception_rules_give_the_same_items_from_the_summary_as_from_the_entries(make_user):
    _exception_data(make_user)
    from_entries = {name: RULE_FUNCS[name](AS_OF) for name in SUMMARY_RULES}
    assert all(from_entries.values())  # each rule has an item to compare
    time_summary_refresh()
    state = summary_state()
    assert state is not None and state.current
    for name in SUMMARY_RULES:
        assert RULE_FUNCS[name](AS_OF, state) == from_entries[name], name
    scan = exception_scan(as_of=AS_OF, rules=sorted(SUMMARY_RULES))
    assert scan.summary == state


def test_the_dashboard_gives_the_same_figures_from_the_summary_as_from_the_entries(make_user):
    _exception_data(make_user)
    start, end = date(2026, 1, 1), date(2026, 6, 30)
    from_entries = executive_dashboard(start=start, end=end)
    assert from_entries.summary is None
    assert from_entries.kpis["unbilled_age"]["entries"] == 8
    time_summary_refresh()
    from_summary = executive_dashboard(start=start, end=end)
    assert from_summary.summary is not None and from_summary.summary.current
    assert from_summary.series == from_entries.series
    assert from_summary.kpis == from_entries.kpis


def test_the_pages_say_how_old_the_figures_are_and_compute_directly_after_new_approvals(client_as, settings):
    settings.PSA_PAGE_CACHE_SECONDS = 0  # each view computes (reuse across views: tests/web/test_pagecache.py)
    _c, line = tm_contract()
    ada = make_consultant()
    approved_entry(line, ada, date(2026, 2, 3), "4", "100")
    client = client_as("finance")
    page = client.get("/dashboard/?start=2026-01-01&end=2026-03-31").content.decode()
    assert "the summary has not been built yet" in page
    time_summary_refresh()
    for url in ("/dashboard/?start=2026-01-01&end=2026-03-31", "/exceptions/"):
        page = client.get(url).content.decode()
        assert "Approved-time figures as of" in page, url
        assert 'data-testid="time-summary-note"' in page
    # new approved time after the refresh: the page computes from the entries and says so
    approved_entry(line, ada, date(2026, 2, 4), "2", "100")
    response = client.get("/dashboard/?start=2026-01-01&end=2026-03-31")
    assert response.status_code == 200
    assert "time was approved or billed after the last summary" in response.content.decode()
    assert response.context["dash"].series["actual_hours"][1] == Decimal("6.00")
    # a rule filter without a summary rule shows no note
    assert "time-summary-note" not in client.get("/exceptions/?rule=outbox_failed").content.decode()


def test_the_pages_read_the_summary_with_a_constant_query_count(client_as, settings):
    settings.PSA_PAGE_CACHE_SECONDS = 0  # each view computes (reuse across views: tests/web/test_pagecache.py)
    make_periods(start=date(2026, 1, 1), through=date(2026, 12, 31))
    client = client_as("finance")

    def build(n):
        for _ in range(n):
            _c, line = tm_contract(cap="500.00")
            ada = make_consultant()
            for day in (3, 10, 17):
                approved_entry(line, ada, date(2026, 3, day), "4", "100")
            approved_entry(line, ada, AS_OF - timedelta(days=40), "5", "100")
        time_summary_refresh()

    def counts():
        dash, response = count_queries(lambda: client.get("/dashboard/?start=2026-01-01&end=2026-06-30"), status=200)
        assert response.context["dash"].summary.current
        queue, response = count_queries(lambda: client.get("/exceptions/"), status=200)
        assert response.context["scan"].summary.current
        return dash, queue

    build(1)
    small = counts()
    build(6)
    large = counts()
    print(f"with the summary: dashboard {small[0]} / {large[0]} queries, exception queue {small[1]} / {large[1]}")
    assert large == small


def test_the_beat_runs_the_refresh_on_the_revenue_queue():
    entry = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"].endswith("time_summary_refresh_task"))
    assert entry["schedule"] <= 300
    if settings.JOB_QUEUE_OF_TASK:
        assert settings.JOB_QUEUE_OF_TASK["billing.tasks.time_summary_refresh_task"] == "revenue"
    _c, line = tm_contract()
    approved_entry(line, make_consultant(), date(2026, 2, 3), "4", "100")
    assert time_summary_refresh_task.apply().get() == 1
    assert summarised() == direct()


def test_on_a_database_without_advisory_locks_it_builds_nothing_and_pages_compute_from_the_entries(monkeypatch):
    """The SQLite demo (`make run` without DATABASE_URL): the refresh must not fail on PostgreSQL-only SQL."""
    monkeypatch.setattr(connection, "vendor", "sqlite")
    result = time_summary_refresh()
    assert (result.months, result.rows) == (0, 0)
    assert not TimeSummaryRefresh.objects.exists() and not TimeSummary.objects.exists()
    monkeypatch.undo()
    assert summary_state() is None
