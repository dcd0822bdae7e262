"""Intercompany time: transfer rates and the month-end recharge between legal entities (ledger.services
.intercompany), the matching report (ledger.selectors.intercompany), their pages and API.

The hand-computed case: a UK consultant (cost rate 60.00) works 8 h on 2 and 3 March 2026 on a DE project; the
transfer rate UK → DE is cost + 10 %: 16 h x 60.00 x 1.10 = 1,056.00 EUR, in UK's books Dr intercompany
receivable / Cr intercompany revenue, in DE's Dr cost of services (the project, its client) / Cr intercompany
payable.
"""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.utils import timezone

from ledger.choices import IC_RECHARGE_SOURCE, IntercompanyRunStatus
from ledger.models import AccountingPeriod, IntercompanyRun, JournalEntry, PeriodClose, TransferRate
from ledger.selectors.intercompany import ic_matching, recharge_plan
from ledger.services.intercompany import (
    MissingTransferRates,
    recharge_execute,
    recharge_run,
    recharge_start,
    transfer_rate_create,
)
from ledger.tasks import ic_recharge_task
from psa.core.exceptions import PeriodClosed, ValidationFailed
from psa.core.models import LegalEntity
from tests.crm.factories import RoleFactory
from tests.ledger.factories import make_periods
from tests.ledger.intercompany_factories import approved, consultant, more_projects, three_entities
from tests.querycount import count_queries

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("functional_eur")]

D = Decimal
MARCH = date(2026, 3, 1)


@pytest.fixture
def functional_eur():
    with override_settings(PSA_FUNCTIONAL_CURRENCY="EUR"):
        yield


@pytest.fixture
def firm(periods):
    return three_entities()


@pytest.fixture
def uk_on_de(firm, finance):
    """The hand-computed case: 16 UK hours on the DE project in March, UK → DE at cost + 10 %."""
    approved(firm.uk_consultant, firm.project, date(2026, 3, 2), "8")
    approved(firm.uk_consultant, firm.project, date(2026, 3, 3), "8")
    transfer_rate_create(
        by=finance, supplier_id=firm.uk.pk, receiver_id=firm.de.pk, markup_percent="10", valid_from=date(2026, 1, 1)
    )
    return firm


def _lines(entry: JournalEntry) -> set[tuple]:
    return {
        (ln.account.code, ln.debit, ln.credit, ln.project_id, ln.client_id)
        for ln in entry.lines.select_related("account")
    }


def _recharge_entries():
    return JournalEntry.objects.filter(source__startswith=IC_RECHARGE_SOURCE).order_by("pk")


# The recharge


def test_the_months_recharge_posts_both_sides_in_each_entitys_books(uk_on_de):
    firm = uk_on_de
    run = recharge_run(month=date(2026, 3, 17))
    assert run.status == IntercompanyRunStatus.DONE
    assert (run.month, run.hours, run.amount, run.posted, run.entries) == (MARCH, D("16.00"), D("1056.00"),
                                                                           D("1056.00"), 2)  # fmt: skip
    supplier, receiver = _recharge_entries()
    assert supplier.entity_id == firm.uk.pk and receiver.entity_id == firm.de.pk
    assert supplier.date == receiver.date == date(2026, 3, 31)
    assert supplier.number.startswith("GB-JE-2026-")
    assert _lines(supplier) == {("1300", D("1056.00"), D("0"), None, None), ("4200", D("0"), D("1056.00"), None, None)}
    assert _lines(receiver) == {
        ("5000", D("1056.00"), D("0"), firm.project.pk, firm.client.pk),
        ("2500", D("0"), D("1056.00"), None, None),
    }
    assert supplier.source == f"{IC_RECHARGE_SOURCE}2026-03:{firm.uk.pk}-{firm.de.pk}:supplier"
    assert supplier.idempotency_key == f"{supplier.source}:1"
    assert run.pairs == [
        {"supplier": "UK", "receiver": "DE", "hours": "16.00", "amount": "1056.00", "posted": "1056.00", "entries": 2}
    ]


def test_the_matching_report_shows_no_difference(uk_on_de):
    recharge_run(month=MARCH)
    [row] = ic_matching()
    assert (row.month, row.supplier.code, row.receiver.code) == ("2026-03", "UK", "DE")
    assert (row.receivable, row.payable, row.revenue, row.cost) == (D("1056.00"),) * 4
    assert row.balance_difference == row.result_difference == 0 and row.matched


def test_running_the_month_again_posts_nothing(uk_on_de):
    recharge_run(month=MARCH)
    again = recharge_run(month=MARCH)
    assert again.status == IntercompanyRunStatus.UNCHANGED
    assert (again.entries, again.posted, again.amount) == (0, D("0"), D("1056.00"))
    assert _recharge_entries().count() == 2


def test_time_approved_after_the_run_posts_only_the_difference_on_both_sides(uk_on_de):
    firm = uk_on_de
    recharge_run(month=MARCH)
    approved(firm.uk_consultant, firm.project, date(2026, 3, 4), "4")  # 4 x 60 x 1.10 = 264.00
    run = recharge_run(month=MARCH)
    assert (run.status, run.posted, run.amount, run.entries) == (IntercompanyRunStatus.DONE, D("264.00"),
                                                                 D("1320.00"), 2)  # fmt: skip
    entries = list(_recharge_entries())
    assert len(entries) == 4
    assert _lines(entries[3]) == {
        ("5000", D("264.00"), D("0"), firm.project.pk, firm.client.pk),
        ("2500", D("0"), D("264.00"), None, None),
    }
    assert entries[3].idempotency_key.endswith(":receiver:2")
    [row] = ic_matching(year=2026)
    assert row.receivable == row.payable == D("1320.00") and row.matched


def test_time_taken_back_after_the_run_posts_a_negative_difference(uk_on_de):
    firm = uk_on_de
    recharge_run(month=MARCH)
    firm.uk_consultant.time_entries.filter(date=date(2026, 3, 3)).update(status="rejected")
    run = recharge_run(month=MARCH)
    assert (run.posted, run.amount) == (D("-528.00"), D("528.00"))
    supplier = _recharge_entries().filter(entity=firm.uk).last()
    assert _lines(supplier) == {("4200", D("528.00"), D("0"), None, None), ("1300", D("0"), D("528.00"), None, None)}
    [row] = ic_matching()
    assert row.receivable == row.cost == D("528.00") and row.matched


def test_time_within_one_entity_is_not_recharged(firm, finance):
    de_consultant = consultant(firm.de, firm.role)
    approved(de_consultant, firm.project, date(2026, 3, 2), "8")
    run = recharge_run(month=MARCH)
    assert (run.status, run.entries) == (IntercompanyRunStatus.UNCHANGED, 0)
    assert not _recharge_entries().exists()


def test_the_rate_for_the_role_wins_over_the_pairs_rate_and_dates_decide(uk_on_de, finance):
    firm = uk_on_de
    transfer_rate_create(by=finance, supplier_id=firm.uk.pk, receiver_id=firm.de.pk, role_id=firm.role.pk,
                         markup_percent="25", valid_from=date(2026, 3, 3))  # fmt: skip
    plan = recharge_plan(MARCH)
    # 2 March: the pair's 10 % (the role's rate starts later): 528.00; 3 March: the role's 25 %: 8 x 60 x 1.25 = 600.00
    assert [p.amount for p in plan.pairs] == [D("1128.00")]


# Refusals


def test_a_missing_transfer_rate_refuses_the_month_naming_pair_role_and_date(uk_on_de):
    firm = uk_on_de
    approved(firm.us_consultant, firm.project, date(2026, 3, 5), "3")
    with pytest.raises(MissingTransferRates) as refused:
        recharge_start(month=MARCH, enqueue=False)
    assert refused.value.status == 409
    assert "No transfer rate US → DE for the role Senior consultant on 2026-03-05" in refused.value.message
    assert not IntercompanyRun.objects.exists()
    assert not _recharge_entries().exists()  # nothing of the month, not even the priced UK → DE pair


def test_a_run_whose_rate_vanished_fails_with_the_reason_and_posts_nothing(uk_on_de):
    run = recharge_start(month=MARCH, enqueue=False)
    TransferRate.objects.all().delete()
    run = recharge_execute(run_id=run.pk)
    assert run.status == IntercompanyRunStatus.FAILED
    assert "No transfer rate UK → DE" in run.errors[0]["error"]
    assert not _recharge_entries().exists()


def test_time_without_a_cost_rate_is_refused_by_name(uk_on_de):
    firm = uk_on_de
    approved(firm.uk_consultant, firm.project, date(2026, 3, 6), "2", cost=None)
    with pytest.raises(MissingTransferRates, match="has no snapshot cost rate"):
        recharge_run(month=MARCH)


def test_a_closed_month_is_refused_and_nothing_is_posted(uk_on_de, finance):
    # Every entity has closed March and the months before (each entity closes its own months)
    months = AccountingPeriod.objects.filter(start__lte=MARCH)
    PeriodClose.objects.bulk_create(
        PeriodClose(period=p, entity=e, closed_at=timezone.now()) for p in months for e in LegalEntity.objects.all()
    )
    months.update(status="closed")
    with pytest.raises(PeriodClosed):
        recharge_run(month=MARCH)
    assert not _recharge_entries().exists()
    assert IntercompanyRun.objects.get().status == IntercompanyRunStatus.FAILED


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"markup_percent": "1000.01"}, "markup_percent"),
        ({"markup_percent": "-1"}, "markup_percent"),
        ({"markup_percent": "abc"}, "markup_percent"),
        ({"markup_percent": "1.005"}, "markup_percent"),
        ({"same_entity": True}, "receiver"),
        ({"valid_to": date(2025, 12, 31)}, "valid_to"),
        ({"valid_from": date(2026, 6, 1)}, "valid_from"),  # overlaps the open-ended rate from January
    ],
)
def test_a_transfer_rate_is_refused_naming_the_field(uk_on_de, finance, changes, field):
    firm = uk_on_de
    with pytest.raises(ValidationFailed) as refused:
        transfer_rate_create(
            by=finance,
            supplier_id=firm.uk.pk,
            receiver_id=firm.uk.pk if changes.get("same_entity") else firm.de.pk,
            markup_percent=changes.get("markup_percent", "5"),
            valid_from=changes.get("valid_from", date(2026, 1, 1)),
            valid_to=changes.get("valid_to"),
        )
    assert field in refused.value.fields
    assert TransferRate.objects.count() == 1


def test_the_database_refuses_a_transfer_rate_out_of_range(firm):
    with pytest.raises(IntegrityError), transaction.atomic():
        TransferRate.objects.create(supplier=firm.uk, receiver=firm.de, markup_percent=D("1001"),
                                    valid_from=date(2026, 1, 1))  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        TransferRate.objects.create(supplier=firm.uk, receiver=firm.uk, markup_percent=D("5"),
                                    valid_from=date(2026, 1, 1))  # fmt: skip


def test_a_rate_for_another_role_does_not_overlap(uk_on_de, finance):
    firm = uk_on_de
    other = RoleFactory(code="junior", name="Junior consultant")
    rate = transfer_rate_create(by=finance, supplier_id=firm.uk.pk, receiver_id=firm.de.pk, role_id=other.pk,
                                markup_percent="5", valid_from=date(2026, 1, 1))  # fmt: skip
    assert rate.role_id == other.pk


# Pages and API


def test_finance_runs_the_recharge_from_the_page_and_sees_the_result(uk_on_de, client_as):
    client = client_as("finance")
    page = client.get("/ledger/intercompany/?month=2026-03-01")
    assert page.status_code == 200
    assert b"1,056.00" in page.content or b"1056.00" in page.content
    response = client.post("/ledger/intercompany/run/", {"month": "2026-03-15"})
    assert response.status_code == 302
    run = IntercompanyRun.objects.get()
    assert run.month == MARCH and run.created_by == client.user
    recharge_execute(run_id=run.pk)  # what the enqueued job does
    page = client.get("/ledger/intercompany/?month=2026-03-01")
    assert f'data-run="{run.pk}"'.encode() in page.content
    assert b"Done" in page.content


def test_the_page_names_a_missing_rate_and_the_run_button_refuses(uk_on_de, client_as):
    firm = uk_on_de
    approved(firm.us_consultant, firm.project, date(2026, 3, 5), "3")
    client = client_as("finance")
    page = client.get("/ledger/intercompany/?month=2026-03-01")
    assert b"No transfer rate US \xe2\x86\x92 DE for the role Senior consultant on 2026-03-05" in page.content
    response = client.post("/ledger/intercompany/run/", {"month": "2026-03-01"}, follow=True)
    assert b"No transfer rate US" in response.content
    assert not IntercompanyRun.objects.exists()


def test_finance_adds_a_transfer_rate_on_the_page(firm, client_as):
    client = client_as("finance")
    response = client.post("/ledger/intercompany/rates/new/", {
        "supplier": firm.us.pk, "receiver": firm.de.pk, "role": firm.role.pk, "markup_percent": "12.50",
        "valid_from": "2026-01-01",
    })  # fmt: skip
    assert response.status_code == 302
    rate = TransferRate.objects.get()
    assert (rate.supplier, rate.receiver, rate.role, rate.markup_percent) == (firm.us, firm.de, firm.role, D("12.50"))


def test_the_api_starts_a_run_and_refuses_a_missing_rate_with_409(uk_on_de, api_as):
    firm = uk_on_de
    api = api_as("finance")
    response = api.post("/api/v1/ledger/intercompany-runs/", {"month": "2026-03-01"}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["month"] == "2026-03-01"
    approved(firm.us_consultant, firm.project, date(2026, 3, 5), "3")
    response = api.post("/api/v1/ledger/intercompany-runs/", {"month": "2026-03-01"}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "missing_transfer_rate"
    assert any("US → DE for the role Senior consultant on 2026-03-05" in m for m in body["fields"]["month"])


def test_the_api_adds_a_transfer_rate_and_names_a_bad_field(firm, api_as):
    api = api_as("finance")
    ok = api.post("/api/v1/ledger/transfer-rates/", {"supplier": firm.uk.pk, "receiver": firm.de.pk,
                  "markup_percent": "10", "valid_from": "2026-01-01"}, format="json")  # fmt: skip
    assert ok.status_code == 201, ok.content
    assert ok.json()["supplier"] == "UK"
    bad = api.post("/api/v1/ledger/transfer-rates/", {"supplier": firm.uk.pk, "receiver": firm.us.pk,
                   "markup_percent": "2000", "valid_from": "2026-01-01"}, format="json")  # fmt: skip
    assert bad.status_code == 400
    assert "markup_percent" in bad.json()["fields"]


def test_the_matching_api_shows_both_sides(uk_on_de, api_as):
    recharge_run(month=MARCH)
    body = api_as("finance").get("/api/v1/ledger/intercompany/matching/?year=2026").json()
    assert body["matched"] is True
    assert body["rows"] == [{
        "month": "2026-03", "supplier": "UK", "receiver": "DE", "receivable": "1056.00", "payable": "1056.00",
        "balance_difference": "0.00", "revenue": "1056.00", "cost": "1056.00", "result_difference": "0.00",
        "matched": True,
    }]  # fmt: skip


@pytest.mark.parametrize("role", ["consultant", "sales", "pm"])
@pytest.mark.parametrize(
    "url",
    ["/ledger/intercompany/", "/ledger/intercompany/matching/", "/ledger/consolidation/"],
)
def test_other_roles_cannot_open_the_intercompany_pages(firm, client_as, role, url):
    assert client_as(role).get(url).status_code == 403


@pytest.mark.parametrize("role", ["consultant", "sales"])
def test_other_roles_cannot_use_the_intercompany_api(uk_on_de, api_as, client_as, role):
    api = api_as(role)
    for url in ("/api/v1/ledger/intercompany/matching/", "/api/v1/ledger/intercompany/consolidation/",
                "/api/v1/ledger/intercompany-runs/", "/api/v1/ledger/transfer-rates/"):  # fmt: skip
        assert api.get(url).status_code == 403, url
    assert api.post("/api/v1/ledger/intercompany-runs/", {"month": "2026-03-01"}, format="json").status_code == 403
    assert client_as(role).post("/ledger/intercompany/run/", {"month": "2026-03-01"}).status_code == 403
    assert not IntercompanyRun.objects.exists()


def test_the_matching_page_and_api_query_counts_do_not_grow_with_pairs_and_months(uk_on_de, client_as, api_as):
    firm = uk_on_de
    recharge_run(month=MARCH)
    client = client_as("finance")
    api = api_as("finance")
    api.get("/api/v1/ledger/intercompany/matching/")  # the first request of a user reads its roles once
    small_page, _ = count_queries(lambda: client.get("/ledger/intercompany/matching/"))
    small_api, _ = count_queries(lambda: api.get("/api/v1/ledger/intercompany/matching/"))
    transfer_rate_create(by=client.user, supplier_id=firm.us.pk, receiver_id=firm.de.pk, markup_percent="5",
                         valid_from=date(2026, 1, 1))  # fmt: skip
    for month in (date(2026, 4, 1), date(2026, 5, 1)):
        more_projects(firm, 5, month.replace(day=10))
        approved(firm.us_consultant, firm.project, month.replace(day=11), "6")
        recharge_run(month=month)
    assert len(ic_matching()) == 5
    large_page, page = count_queries(lambda: client.get("/ledger/intercompany/matching/"))
    large_api, _ = count_queries(lambda: api.get("/api/v1/ledger/intercompany/matching/"))
    assert page.content.count(b"data-pair=") == 5
    assert large_page == small_page
    assert large_api == small_api


def test_the_recharge_page_query_count_does_not_grow_with_time_entries(uk_on_de, client_as):
    client = client_as("finance")
    recharge_run(month=MARCH)
    small, _ = count_queries(lambda: client.get("/ledger/intercompany/?month=2026-03-01"))
    more_projects(uk_on_de, 10, date(2026, 3, 12))
    recharge_run(month=MARCH)
    transfer_rate_create(by=client.user, supplier_id=uk_on_de.us.pk, receiver_id=uk_on_de.de.pk, markup_percent="5",
                         valid_from=date(2026, 1, 1))  # fmt: skip
    large, _ = count_queries(lambda: client.get("/ledger/intercompany/?month=2026-03-01"))
    assert large == small


# Database, admin, job and concurrency


def test_the_database_refuses_overlapping_rates_of_one_pair_and_role(uk_on_de):
    firm = uk_on_de
    with pytest.raises(IntegrityError, match="ledger_transfer_rate_no_overlap"), transaction.atomic():
        TransferRate.objects.create(
            supplier=firm.uk, receiver=firm.de, markup_percent=D("5"), valid_from=date(2026, 6, 1)
        )
    # Another role, or another pair, may share the dates.
    TransferRate.objects.create(supplier=firm.uk, receiver=firm.de, role=firm.role, markup_percent=D("5"),
                                valid_from=date(2026, 6, 1))  # fmt: skip
    TransferRate.objects.create(supplier=firm.de, receiver=firm.uk, markup_percent=D("5"), valid_from=date(2026, 6, 1))


def test_the_admin_form_names_an_overlapping_rate(uk_on_de):
    firm = uk_on_de
    rate = TransferRate(supplier=firm.uk, receiver=firm.de, markup_percent=D("5"), valid_from=date(2026, 6, 1))
    with pytest.raises(DjangoValidationError) as refused:
        rate.full_clean()
    assert "valid_from" in refused.value.message_dict


def test_the_job_executes_the_run(uk_on_de):
    run = recharge_start(month=MARCH, enqueue=False)
    ic_recharge_task(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.entries) == (IntercompanyRunStatus.DONE, 2)
    ic_recharge_task(run_id=run.pk)  # run twice: a finished run is left alone
    assert _recharge_entries().count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_runs_of_one_month_at_once_post_the_recharge_once(finance):
    make_periods()
    firm = three_entities()
    approved(firm.uk_consultant, firm.project, date(2026, 3, 2), "8")
    transfer_rate_create(by=finance, supplier_id=firm.uk.pk, receiver_id=firm.de.pk, markup_percent="10",
                         valid_from=date(2026, 1, 1))  # fmt: skip
    runs = [recharge_start(month=MARCH, enqueue=False) for _ in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker(run_id: int) -> None:
        barrier.wait()
        try:
            recharge_execute(run_id=run_id)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(run.pk,)) for run in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    statuses = sorted(IntercompanyRun.objects.values_list("status", flat=True))
    assert statuses == [IntercompanyRunStatus.DONE, IntercompanyRunStatus.UNCHANGED]
    assert _recharge_entries().count() == 2
    [row] = ic_matching()
    assert row.receivable == row.payable == D("528.00")
