"""Month-end revaluation of open foreign-currency items (ledger.services.revaluation), to the cent.

The hand-computed case (functional EUR, January 2026):
- client A / project P: invoice 1,000.00 USD at 0.90 = 900.00 EUR (Dr AR); 31 Jan USD 0.92 → 920.00: +20.00,
  Dr AR / Cr unrealised gain;
- client A: invoice 500.00 GBP at 1.15 = 575.00 EUR; 31 Jan GBP 1.12 → 560.00: -15.00, Dr unrealised loss / Cr AR.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.test import override_settings

from crm.models import Account
from ledger.choices import RevaluationRunStatus
from ledger.models import AccountingPeriod, JournalEntry, JournalLine, RevaluationRun
from ledger.selectors.close import close_checklist
from ledger.selectors.revaluation import revaluation_plan
from ledger.services import EntrySpec, LineSpec, entries_auto_reverse_due, entry_post, period_close, revaluation
from ledger.services.posting import fx_line
from ledger.services.revaluation import revaluation_execute, revaluation_run, revaluation_start
from ledger.services.revenue import recognition_run
from projects.models import Project
from psa.core.exceptions import PeriodClosed
from psa.core.fx import MissingRate, rate_for
from psa.core.models import ExchangeRate
from tests.querycount import count_queries

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("functional_eur")]

JAN_END = date(2026, 1, 31)
FEB_1 = date(2026, 2, 1)
D = Decimal


@pytest.fixture
def functional_eur():
    with override_settings(PSA_FUNCTIONAL_CURRENCY="EUR"):
        yield


@pytest.fixture
def jan(periods):
    return AccountingPeriod.objects.get(start=date(2026, 1, 1))


@pytest.fixture
def dims(db):
    client = Account.objects.create(name="Acme Inc.")
    project = Project.objects.create(code="ACME-1", name="Acme rollout", account=client)
    return client, project


def rate(currency: str, on: date, value: str) -> ExchangeRate:
    return ExchangeRate.objects.update_or_create(currency=currency, quote="EUR", date=on, defaults={"rate": D(value)})[
        0
    ]


def invoice(currency: str, amount: str, on: date, *, client, project=None, account: str = "1100", key: str = ""):
    """A foreign-currency receivable (or cash with account="1000") posted at the rate of its date."""
    r = rate_for(currency=currency, on=on)
    line = fx_line(account, rate=r, debit=D(amount), client_id=client.pk if client else None,
                   project_id=project.pk if project else None)  # fmt: skip
    counter = "4000" if account == "1100" else "3000"
    return entry_post(
        spec=EntrySpec(
            date=on,
            memo=f"{currency} {amount}",
            lines=(line, LineSpec(counter, credit=line.debit, client_id=client.pk if client else None)),
        ),
        key=key or f"inv:{currency}:{amount}:{on}:{account}",
    )


def balance(code: str, *, through: date, **filters) -> Decimal:
    totals = JournalLine.objects.filter(account__code=code, date__lte=through, **filters).aggregate(
        d=Sum("debit"), c=Sum("credit")
    )
    return (totals["d"] or D(0)) - (totals["c"] or D(0))


def in_month(code: str, **filters) -> Decimal:
    totals = JournalLine.objects.filter(
        account__code=code, date__gte=date(2026, 1, 1), date__lte=JAN_END, **filters
    ).aggregate(d=Sum("debit"), c=Sum("credit"))
    return (totals["d"] or D(0)) - (totals["c"] or D(0))


@pytest.fixture
def booked(jan, dims):
    client, project = dims
    rate("USD", date(2026, 1, 2), "0.90")
    rate("GBP", date(2026, 1, 2), "1.15")
    invoice("USD", "1000.00", date(2026, 1, 10), client=client, project=project)
    invoice("GBP", "500.00", date(2026, 1, 12), client=client)
    rate("USD", JAN_END, "0.92")
    rate("GBP", JAN_END, "1.12")
    return client, project


def test_the_revaluation_posts_the_difference_to_the_cent_with_dimensions(jan, booked):
    client, project = booked
    run = revaluation_run(period_id=jan.pk)
    assert run.status == RevaluationRunStatus.DONE
    assert (run.items, run.total, run.processed, run.entries) == (2, 2, 2, 1)
    assert run.amount == D("5.00")
    assert run.rates == {"GBP": ["1.12", "2026-01-31"], "USD": ["0.92", "2026-01-31"]}
    entry = run.entry
    assert entry.date == JAN_END and entry.auto_reverse_on == FEB_1
    lines = {
        (ln.account.code, ln.currency, ln.client_id, ln.project_id): (ln.debit, ln.credit, ln.amount_currency)
        for ln in entry.lines.select_related("account")
    }
    assert lines == {
        ("1100", "USD", client.pk, project.pk): (D("20.00"), D("0"), D("0")),
        ("7150", "USD", client.pk, project.pk): (D("0"), D("20.00"), D("0")),
        ("1100", "GBP", client.pk, None): (D("0"), D("15.00"), D("0")),
        ("7250", "GBP", client.pk, None): (D("15.00"), D("0"), D("0")),
    }
    assert balance("1100", through=JAN_END) == D("1480.00")  # 920.00 + 560.00


def test_the_preview_shows_each_currency_with_its_rate_and_date(jan, booked):
    plan = revaluation_plan(jan)
    rows = {s.currency: s for s in plan.currencies}
    assert (rows["USD"].open, rows["USD"].booked, rows["USD"].revalued, rows["USD"].difference) == (
        D("1000.00"), D("900.00"), D("920.00"), D("20.00"),
    )  # fmt: skip
    assert rows["GBP"].difference == D("-15.00") and rows["GBP"].rate.date == JAN_END
    assert rows["USD"].items == 1


def test_the_reversal_on_the_first_day_of_the_next_period_restores_the_booked_amounts(jan, booked):
    run = revaluation_run(period_id=jan.pk)
    assert entries_auto_reverse_due(today=FEB_1) == 1
    reversal = JournalEntry.objects.get(reverses=run.entry)
    assert reversal.date == FEB_1
    assert balance("1100", through=FEB_1) == D("1475.00")  # AR control = open items at their booked rates
    assert balance("7150", through=FEB_1) == 0 and balance("7250", through=FEB_1) == 0


def test_running_twice_with_the_same_rates_posts_one_entry(jan, booked):
    first = revaluation_run(period_id=jan.pk)
    second = revaluation_run(period_id=jan.pk)
    assert second.status == RevaluationRunStatus.UNCHANGED and second.entry is None
    assert JournalEntry.objects.filter(source__startswith="fx-revaluation:").count() == 1
    assert first.entry.lines.count() == 4


def test_a_run_of_several_entries_resumes_after_a_crash_without_posting_twice(jan, booked, monkeypatch):
    # Given entries of one item each and a worker that dies after posting the first of the run's two entries
    monkeypatch.setattr(revaluation, "CHUNK", 1)
    posted = []

    def dies_after_one_entry(**kwargs):
        if posted:
            raise ConnectionError("worker lost")
        posted.append(entry_post(**kwargs))
        return posted[-1]

    monkeypatch.setattr(revaluation, "entry_post", dies_after_one_entry)
    run = revaluation_start(period_id=jan.pk, enqueue=False)
    with pytest.raises(ConnectionError):
        revaluation_execute(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.processed, run.total) == (RevaluationRunStatus.RUNNING, 1, 2)
    # When the task runs again (acks_late: the broker redelivers it)
    monkeypatch.setattr(revaluation, "entry_post", entry_post)
    run = revaluation_execute(run_id=run.pk)
    # Then the first entry is replayed by its key, the second posted, and each item revalued once
    entries = list(JournalEntry.objects.filter(source=run.source).order_by("pk"))
    assert [e.pk for e in entries][:1] == [posted[0].pk] and len(entries) == 2
    assert (run.status, run.processed, run.total, run.entries, run.entry) == (
        RevaluationRunStatus.DONE, 2, 2, 2, posted[0]
    )  # fmt: skip
    assert balance("1100", through=JAN_END) == D("1480.00")
    assert in_month("7150") == D("-20.00") and in_month("7250") == D("15.00")


def test_a_corrected_rate_replaces_a_revaluation_not_yet_reversed(jan, booked):
    first = revaluation_run(period_id=jan.pk)
    rate("USD", JAN_END, "0.93")
    second = revaluation_run(period_id=jan.pk)
    assert second.status == RevaluationRunStatus.DONE and second.replaces == first
    replaced = JournalEntry.objects.get(reverses=first.entry)
    assert replaced.date == JAN_END
    # January holds exactly the new revaluation: +30.00 USD, -15.00 GBP.
    assert in_month("7150") == D("-30.00") and in_month("7250") == D("15.00")
    assert balance("1100", through=JAN_END) == D("1490.00")
    entries_auto_reverse_due(today=FEB_1)
    assert balance("1100", through=FEB_1) == D("1475.00")
    assert balance("7150", through=FEB_1) == 0


def test_a_corrected_rate_after_the_auto_reversal_cancels_it_and_posts_the_new_one(jan, booked):
    first = revaluation_run(period_id=jan.pk)
    entries_auto_reverse_due(today=FEB_1)
    rate("USD", JAN_END, "0.93")
    second = revaluation_run(period_id=jan.pk)
    assert second.replaces == first
    mirror = JournalEntry.objects.get(source=f"fx-revaluation:2026-01:cancel:{first.entry.pk}")
    assert mirror.date == JAN_END and mirror.auto_reverse_on == FEB_1
    assert in_month("7150") == D("-30.00") and in_month("7250") == D("15.00")
    assert balance("1100", through=JAN_END) == D("1490.00")
    entries_auto_reverse_due(today=FEB_1)
    assert balance("1100", through=FEB_1) == D("1475.00")
    assert balance("7150", through=FEB_1) == 0 and balance("7250", through=FEB_1) == 0
    # And a third run with the same rates finds nothing to change.
    assert revaluation_run(period_id=jan.pk).status == RevaluationRunStatus.UNCHANGED


def test_a_yen_item_revalues_to_the_yen_and_converts_to_the_cent(jan, dims):
    client, _ = dims
    rate("JPY", date(2026, 1, 2), "0.0062")
    invoice("JPY", "100000", date(2026, 1, 20), client=client)
    rate("JPY", JAN_END, "0.00615")
    run = revaluation_run(period_id=jan.pk)
    assert run.amount == D("-5.00")  # 620.00 -> 615.00
    assert balance("1100", through=JAN_END) == D("615.00")


def test_a_missing_rate_is_refused_naming_currency_and_date_and_posts_nothing(jan, dims):
    client, _ = dims
    rate("CHF", date(2026, 1, 5), "1.05")
    invoice("CHF", "300.00", date(2026, 1, 6), client=client)
    ExchangeRate.objects.filter(currency="CHF").delete()
    with pytest.raises(MissingRate) as refused:
        revaluation_start(period_id=jan.pk, enqueue=False)
    assert "CHF" in refused.value.message and "2026-01-31" in refused.value.message
    assert not RevaluationRun.objects.exists()
    assert not JournalEntry.objects.filter(source__startswith="fx-revaluation:").exists()


def test_a_closed_period_is_refused(jan, finance):
    recognition_run(period_id=jan.pk, by=finance)
    period_close(period_id=jan.pk, by=finance, reason="month end")
    with pytest.raises(PeriodClosed):
        revaluation_start(period_id=jan.pk, enqueue=False)


def test_a_foreign_cash_balance_is_revalued(jan, db):
    rate("USD", date(2026, 1, 2), "0.90")
    invoice("USD", "2000.00", date(2026, 1, 3), client=None, account="1000")
    rate("USD", JAN_END, "0.95")
    run = revaluation_run(period_id=jan.pk)
    assert run.amount == D("100.00")
    assert balance("1000", through=JAN_END) == D("1900.00")
    assert in_month("7150") == D("-100.00")


def test_the_checklist_blocks_until_the_period_is_revalued_at_current_rates(jan, booked):
    def row():
        return next(r for r in close_checklist(jan, extra_checks=[]) if r.key == "fx_revaluation")

    assert row().blocking and not row().done
    revaluation_run(period_id=jan.pk)
    assert row().done
    rate("USD", JAN_END, "0.93")
    assert not row().done
    revaluation_run(period_id=jan.pk)
    assert row().done


def test_the_checklist_item_is_done_without_foreign_items(jan):
    assert next(r for r in close_checklist(jan, extra_checks=[]) if r.key == "fx_revaluation").done


def _items(n: int, client) -> None:
    rate("USD", date(2026, 1, 2), "0.90")
    rate("USD", JAN_END, "0.91")
    for i in range(n):
        project = Project.objects.create(code=f"P-{n}-{i}", name=f"P {i}", account=client)
        invoice("USD", f"{100 + i}.00", date(2026, 1, 10), client=client, project=project, key=f"q:{n}:{i}")


@pytest.mark.parametrize("action", ["preview", "run"])
def test_the_preview_and_the_run_send_the_same_number_of_queries_at_two_sizes(jan, dims, action):
    client, _ = dims
    counts = []
    for n in (3, 40):
        with transaction.atomic():  # each size from the same empty journal
            _items(n, client)
            if action == "preview":
                queries, _ = count_queries(lambda: revaluation_plan(jan))
            else:
                queries, run = count_queries(lambda: revaluation_run(period_id=jan.pk))
                assert run.processed == n
            counts.append(queries)
            transaction.set_rollback(True)
    assert counts[0] == counts[1]


# --- page and API ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["sales", "project_manager", "consultant"])
def test_other_roles_get_403_on_the_page_and_the_api(client_as, api_as, jan, booked, role):
    assert client_as(role).get("/ledger/revaluation/").status_code == 403
    api = api_as(role)
    assert api.get("/api/v1/ledger/revaluations/").status_code == 403
    assert api.post("/api/v1/ledger/revaluations/", {"period": jan.pk}).status_code == 403
    assert not RevaluationRun.objects.exists()


def test_finance_previews_runs_and_sees_progress_and_history(client_as, jan, booked):
    web = client_as("finance")
    page = web.get(f"/ledger/revaluation/?period={jan.pk}").content.decode()
    assert "1 USD = 0.92 EUR (2026-01-31)" in page and "-15.00" in page
    response = web.post("/ledger/revaluation/start/", {"period": jan.pk})
    run = RevaluationRun.objects.get()
    assert response.status_code == 302 and response.url == f"/ledger/revaluation/runs/{run.pk}/"
    revaluation_execute(run_id=run.pk)  # what the worker does
    run.refresh_from_db()
    fragment = web.get(f"/ledger/revaluation/runs/{run.pk}/progress/", HTTP_HX_REQUEST="true")
    assert "2 / 2 items" in fragment.content.decode() and fragment["HX-Refresh"] == "true"
    detail = web.get(f"/ledger/revaluation/runs/{run.pk}/").content.decode()
    assert run.entry.number in web.get("/ledger/revaluation/").content.decode() and run.entry.number in detail


def test_the_api_starts_a_run_and_refuses_a_missing_rate_with_409(api_as, jan, booked):
    api = api_as("finance")
    ExchangeRate.objects.filter(currency="GBP", date=JAN_END).delete()
    ExchangeRate.objects.filter(currency="GBP").delete()
    refused = api.post("/api/v1/ledger/revaluations/", {"period": jan.pk}, format="json")
    message = refused.json()["message"]
    assert refused.status_code == 409 and "GBP" in message and "2026-01-31" in message
    rate("GBP", JAN_END, "1.12")
    started = api.post("/api/v1/ledger/revaluations/", {"period": jan.pk}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = api.post("/api/v1/ledger/revaluations/", {"period": jan.pk}, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert started.status_code == 202 and again.json()["id"] == started.json()["id"]
    assert RevaluationRun.objects.count() == 1
    listed = api.get("/api/v1/ledger/revaluations/").json()
    assert listed["results"][0]["status"] == "running"


def test_the_api_refuses_a_closed_period_with_409(api_as, jan, finance):
    recognition_run(period_id=jan.pk, by=finance)
    period_close(period_id=jan.pk, by=finance, reason="month end")
    assert api_as("finance").post("/api/v1/ledger/revaluations/", {"period": jan.pk}, format="json").status_code == 409


def test_the_page_and_the_list_send_the_same_number_of_queries_at_two_sizes(client_as, api_as, jan, dims):
    client, _ = dims
    web, api = client_as("finance"), api_as("finance")
    counts = []
    for n in (2, 12):
        with transaction.atomic():
            _items(n, client)
            for _ in range(n):
                revaluation_run(period_id=jan.pk)
                rate("USD", JAN_END, str(D("0.91") + D(n) / 1000 + D(_) / 100000))
            api.get("/api/v1/ledger/revaluations/")  # the first request of a client loads its roles once
            counts.append(
                (
                    count_queries(lambda: web.get(f"/ledger/revaluation/?period={jan.pk}"))[0],
                    count_queries(lambda: api.get("/api/v1/ledger/revaluations/"))[0],
                )
            )
            transaction.set_rollback(True)
    assert counts[0] == counts[1]
