"""Pages that compute over the whole firm reuse one result across readers for PSA_PAGE_CACHE_SECONDS
(psa.core.pagecache): the exception queue's rule items, the executive dashboard and the staffing heatmap. A reused
result says when it was computed; what differs per reader (dismissals, role trimming) applies on every request."""

from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from psa.core.models import OutboxMessage
from psa.core.pagecache import FRESH_COOKIE, shared_result, wrote_recently
from tests.billing.factories import approved_entry, make_consultant, make_periods, tm_contract
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db

DASH = "/dashboard/?start=2026-01-01&end=2026-03-31"


def _stuck_email(key):
    return OutboxMessage.objects.create(
        kind="email", dedupe_key=key, payload={}, status="failed", attempts=2, next_attempt_at=timezone.now()
    )


def test_a_shared_result_is_computed_once_within_the_bound_and_every_time_without_one(settings):
    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    first, again = shared_result("k", compute), shared_result("k", compute)
    assert (first.value, again.value, again.computed_at) == (1, 1, first.computed_at) and first.reused
    settings.PSA_PAGE_CACHE_SECONDS = 0
    fresh = shared_result("k", compute)
    assert fresh.value == 2 and not fresh.reused


def test_the_queue_reuses_its_items_within_the_bound_and_says_since_when(client_as, settings):
    client = client_as("finance")
    first = _stuck_email("e1")
    page = client.get("/exceptions/").content.decode()
    assert f"outbox:{first.pk}" in page and 'data-testid="computed-note"' in page
    second = _stuck_email("e2")
    page = client.get("/exceptions/").content.decode()
    assert f"outbox:{second.pk}" not in page  # computed before it, and said so
    assert "recomputed at most every 60 seconds" in page
    settings.PSA_PAGE_CACHE_SECONDS = 0
    page = client.get("/exceptions/").content.decode()
    assert f"outbox:{second.pk}" in page and 'data-testid="computed-note"' not in page


def test_a_dismissal_hides_its_item_at_once_on_a_reused_queue(client_as):
    client = client_as("finance")
    m = _stuck_email("e1")
    assert f'data-key="outbox:{m.pk}"' in client.get("/exceptions/").content.decode()
    client.post("/exceptions/dismiss/", {"rule": "outbox_failed", "item_key": f"outbox:{m.pk}", "reason": "noise"})
    page = client.get("/exceptions/").content.decode()
    assert f'data-key="outbox:{m.pk}"' not in page and "noise" in page


def test_a_writer_sees_the_queue_fresh_and_refreshes_it_for_everyone(client_as, make_user):
    writer = client_as("finance")
    reader = Client()
    reader.force_login(make_user("finance"))
    first = _stuck_email("e1")
    assert f'data-key="outbox:{first.pk}"' in writer.get("/exceptions/").content.decode()
    second = _stuck_email("e2")
    assert f'data-key="outbox:{second.pk}"' not in reader.get("/exceptions/").content.decode()  # reused
    dismissed = writer.post(
        "/exceptions/dismiss/", {"rule": "outbox_failed", "item_key": f"outbox:{first.pk}", "reason": "noise"}
    )
    assert dismissed.status_code == 302 and FRESH_COOKIE in dismissed.cookies
    assert f'data-key="outbox:{second.pk}"' in writer.get("/exceptions/").content.decode()  # computed afresh
    assert f'data-key="outbox:{second.pk}"' in reader.get("/exceptions/").content.decode()  # and stored


def test_a_write_request_counts_as_fresh_before_its_cookie_exists_and_a_read_does_not():
    from django.test import RequestFactory

    factory = RequestFactory()
    assert wrote_recently(factory.post("/crm/opportunities/1/move/"))  # the board a move answers with
    assert not wrote_recently(factory.get("/crm/pipeline/"))


def test_a_forged_cookie_does_not_bypass_the_shared_result(client_as):
    client = client_as("finance")
    client.get("/exceptions/")
    later = _stuck_email("e9")
    client.cookies[FRESH_COOKIE] = "9999999999.000:forged"
    assert f'data-key="outbox:{later.pk}"' not in client.get("/exceptions/").content.decode()


def test_a_reused_queue_costs_the_same_few_queries_at_two_sizes(client_as):
    client = client_as("finance")

    def reused_cost(n):
        cache.clear()
        for i in range(n):
            _stuck_email(f"n{n}-{i}")
        computed, _ = count_queries(lambda: client.get("/exceptions/"), status=200)
        reused, _ = count_queries(lambda: client.get("/exceptions/"), status=200)
        return computed, reused

    small_computed, small = reused_cost(1)
    large_computed, large = reused_cost(6)
    print(f"exception queue queries: computed {small_computed}/{large_computed}, reused {small}/{large}")
    assert large == small and small < small_computed


@pytest.fixture
def firm(db):
    make_periods(start=date(2026, 1, 1), through=date(2026, 12, 31))
    _c, line = tm_contract()
    approved_entry(line, make_consultant(), date(2026, 2, 2), "4", "100")
    return line


def test_the_dashboard_is_reused_across_roles_and_trimmed_for_each(firm, client_as):
    finance = client_as("finance").get(DASH).content.decode()
    assert "margin" in finance.lower()
    assert 'data-testid="computed-note"' in finance
    sales = client_as("sales").get(DASH).content.decode()  # the finance reader's result, trimmed for sales
    assert 'data-testid="computed-note"' in sales
    assert "margin" not in sales.lower() and "cost of services" not in sales.lower()


def test_a_reused_dashboard_costs_the_same_few_queries_at_two_sizes(firm, client_as):
    client = client_as("finance")

    def reused_cost():
        cache.clear()
        computed, _ = count_queries(lambda: client.get(DASH), status=200)
        reused, _ = count_queries(lambda: client.get(DASH), status=200)
        return computed, reused

    small_computed, small = reused_cost()
    for i in range(4):
        _c, line = tm_contract()
        ada = make_consultant()
        for day in (3, 4, 5):
            approved_entry(line, ada, date(2026, 3, day) + timedelta(days=7 * i), "4", "100")
    large_computed, large = reused_cost()
    print(f"dashboard queries: computed {small_computed}/{large_computed}, reused {small}/{large}")
    assert large == small and small < small_computed


def test_the_aging_is_reused_for_other_readers_and_a_payment_shows_at_once_for_its_recorder(client_as, make_user):
    from django.urls import reverse

    from tests.billing.factories import issued_invoice

    make_periods(start=date(2026, 1, 1), through=date(2026, 12, 31))
    recorder = client_as("finance")
    reader = Client()
    reader.force_login(make_user("finance"))
    url = reverse("billing:ar") + "?as_of=2026-03-31"
    invoice = issued_invoice(recorder.user, "100.00")
    computed, first = count_queries(lambda: reader.get(url), status=200)
    assert 'data-testid="computed-note"' in first.content.decode() and invoice.number in first.content.decode()
    reused, _ = count_queries(lambda: reader.get(url), status=200)
    assert reused < computed
    paid = recorder.post(
        reverse("billing:payment-new") + f"?invoice={invoice.pk}",
        {"account": invoice.account_id, "amount": "120.00", "received_on": "2026-02-10", "method": "bank_transfer",
         "invoice": invoice.pk},
    )  # fmt: skip
    assert paid.status_code == 302 and FRESH_COOKIE in paid.cookies
    mine = recorder.get(url).content.decode()
    assert invoice.number not in mine  # paid: no longer overdue, computed afresh for the recorder
    assert invoice.number not in reader.get(url).content.decode()  # and stored for everyone


def test_the_boards_column_totals_are_reused_across_readers_and_a_move_updates_them_at_once(client_as, make_user):
    from tests.crm.factories import make_deal, stage

    mover = client_as("sales")
    reader = Client()
    reader.force_login(make_user("sales"))
    deal = make_deal(owner=mover.user, ready=False)

    def qualified(client, **kwargs):
        response = client.get("/crm/pipeline/", **kwargs)
        assert response.status_code == 200
        return next(c for c in response.context["columns"] if c.stage.name == "Qualified")

    before = qualified(reader).count
    assert 'data-testid="computed-note"' in reader.get("/crm/pipeline/").content.decode()
    moved = mover.post(f"/crm/opportunities/{deal.pk}/move/", {"stage": stage("Qualified").pk}, HTTP_HX_REQUEST="true")
    assert moved.status_code == 200 and FRESH_COOKIE in moved.cookies
    assert next(c for c in moved.context["columns"] if c.stage.name == "Qualified").count == before + 1
    assert qualified(reader).count == before + 1  # the move computed them afresh and stored them for everyone
    make_deal(owner=mover.user, ready=False, stage=stage("Qualified"))  # not through a page: within the bound
    column = qualified(reader)
    assert column.count == before + 1 and deal.pk in [card.pk for card in column.cards]


def test_the_aging_page_is_reused_within_the_bound_but_its_csv_is_always_computed(client_as):
    from django.urls import reverse

    from billing.services import payment_record
    from tests.billing.factories import issued_invoice

    make_periods(start=date(2026, 1, 1), through=date(2026, 12, 31))
    client = client_as("finance")
    invoice = issued_invoice(client.user, "100.00")
    url = reverse("billing:ar") + "?as_of=2026-03-31"
    assert invoice.account.name in client.get(url).content.decode()
    # paid through the service, not through a page: no write mark, so the page keeps its figures for the bound
    payment_record(by=client.user, account_id=invoice.account_id, amount="120.00", received_on=date(2026, 2, 5))
    page = client.get(url).content.decode()
    assert 'data-testid="computed-note"' in page and invoice.account.name in page.split('data-testid="aging-table"')[1]
    csv = client.get(url + "&format=csv").getvalue().decode()
    assert invoice.account.name not in csv  # nothing owed any more: the export is never a reused figure
