"""Books per legal entity on a firm with three entities (DE, GB, US): each entity's trial balance balances and the
three sum to the firm's; closing one entity's month leaves the others open (service and database trigger); the
journal numbers stay gapless per entity series under concurrency; recognition across two entities' projects posts
one entry per entity; the entity-filtered trial balance page and API keep a fixed query count."""

import threading
from datetime import date
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.urls import reverse

from billing.selectors import ar_aging
from billing.services import invoice_draft_for_contract, invoice_issue
from crm.models import Account
from ledger.models import AccountBalance, AccountingPeriod, JournalEntry, JournalLine, PeriodClose
from ledger.selectors import balance_sheet, pnl, trial_balance
from ledger.selectors.revenue import rollforward
from ledger.services import EntrySpec, LineSpec, entry_post, period_close, period_reopen
from ledger.services.posting import fx_line
from ledger.services.revaluation import revaluation_run
from ledger.services.revenue import recognition_run
from projects.models import Contract, Project
from psa.core.entities import bank_account_add, entity_create, entity_default
from psa.core.exceptions import InvalidTransition, PeriodClosed
from psa.core.fx import rate_for
from psa.core.models import ExchangeRate, LegalEntity
from tests.billing.factories import make_contract, make_line, milestone_contract
from tests.ledger.factories import balanced, make_periods, post
from tests.ledger.revenue_factories import D, approved_time, books, period, zero_tax_account
from tests.querycount import count_queries

pytestmark = pytest.mark.django_db

JAN, FEB, MAR = date(2026, 1, 15), date(2026, 2, 15), date(2026, 3, 15)


def _entity(code: str, prefix: str, country: str) -> LegalEntity:
    return LegalEntity.objects.create(
        code=code,
        series_prefix=prefix,
        name=f"Northwind {code}",
        legal_name=f"Northwind {code} Ltd",
        country=country,
        functional_currency=entity_default().functional_currency,
    )


@pytest.fixture(autouse=True)
def _german_default_entity(settings):
    """The default entity is the German one here (the tests' seller is in GB elsewhere, tests/conftest.py)."""
    settings.PSA_FIRM_COUNTRY = "DE"
    settings.PSA_FIRM_TAX_ID = "DE136695976"
    settings.PSA_FIRM_ADDRESS = "12 Harbour Street\n10115 Berlin"


@pytest.fixture
def admin(make_user):
    """Closes months over the checklist (the recognition run of an empty firm is not the point here)."""
    return make_user("admin")


@pytest.fixture
def three(db):
    """The default entity (DE) and two more (GB, US), with the 2026 periods."""
    de = entity_default()
    gb, us = _entity("GB", "GB", "GB"), _entity("US", "US", "US")
    make_periods()
    return de, gb, us


def _post_books(de, gb, us) -> None:
    """A few entries in each entity's books over January to March."""
    for entity, amount in ((de, "100.00"), (gb, "250.00"), (us, "40.00")):
        for on in (JAN, FEB, MAR):
            post(balanced(amount, credit="4000", on=on, entity_id=entity.pk))
        post(balanced("7.00", debit="6000", credit="1000", on=FEB, entity_id=entity.pk))


def _closing(tb) -> dict[str, Decimal]:
    return {r.account.code: r.closing for r in tb.rows if r.closing}


def test_each_entity_has_its_own_series_and_its_lines_carry_the_entity(three):
    _de, gb, us = three
    first_gb = post(balanced("1.00", entity_id=gb.pk))
    first_us = post(balanced("1.00", entity_id=us.pk))
    assert first_gb.number == "GB-JE-2026-000001" and first_us.number == "US-JE-2026-000001"
    assert set(JournalLine.objects.filter(entry=first_gb).values_list("entity_id", flat=True)) == {gb.pk}
    assert set(JournalLine.objects.filter(entry=first_us).values_list("entity_id", flat=True)) == {us.pk}


def test_each_entity_trial_balance_balances_and_the_three_sum_to_all_entities(three, admin):
    de, gb, us = three
    _post_books(de, gb, us)
    # DE closes January, GB closes January and February, US closes nothing: the reports mix stored and lines
    period_close(period_id=period(JAN).pk, by=admin, reason="DE Jan", override_reason="test", entity_id=de.pk)
    for on in (JAN, FEB):
        period_close(period_id=period(on).pk, by=admin, reason="GB", override_reason="test", entity_id=gb.pk)
    at = date(2026, 3, 31)
    per_entity = {e.code: trial_balance(at=at, entity_id=e.pk) for e in three}
    for tb in per_entity.values():
        assert tb.balanced
    assert _closing(per_entity["DE"]) == {"1000": D("293.00"), "4000": D("-300.00"), "6000": D("7.00")}
    assert _closing(per_entity["GB"]) == {"1000": D("743.00"), "4000": D("-750.00"), "6000": D("7.00")}
    assert per_entity["GB"].closed_through == period(FEB)
    assert per_entity["US"].closed_through is None
    firm = trial_balance(at=at)
    assert firm.balanced
    summed: dict[str, Decimal] = {}
    for tb in per_entity.values():
        for code, value in _closing(tb).items():
            summed[code] = summed.get(code, D("0")) + value
    assert _closing(firm) == summed
    # The period view and the other reports agree per entity and together
    feb = trial_balance(period=period(FEB), entity_id=gb.pk)
    assert feb.balanced and feb.debit == D("257.00")
    assert trial_balance(period=period(FEB)).debit == D("107.00") + D("257.00") + D("47.00")
    income = {e.code: pnl(start=date(2026, 1, 1), end=at, entity_id=e.pk).income_total for e in three}
    assert income == {"DE": D("300.00"), "GB": D("750.00"), "US": D("120.00")}
    assert pnl(start=date(2026, 1, 1), end=at).income_total == D("1170.00")
    for entity in three:
        assert balance_sheet(at=at, entity_id=entity.pk).balanced
    # Stored balances are per entity: GB's February rows hold GB's cumulative figures only
    gb_cash = AccountBalance.objects.get(period=period(FEB), entity=gb, account__code="1000")
    assert gb_cash.cum_debit - gb_cash.cum_credit == D("493.00")
    assert not AccountBalance.objects.filter(period=period(FEB), entity=de).exists()


def test_closing_one_entity_leaves_the_others_open(three, admin):
    de, gb, us = three
    jan = period(JAN)
    period_close(period_id=jan.pk, by=admin, reason="GB January", override_reason="test", entity_id=gb.pk)
    assert PeriodClose.objects.filter(period=jan).count() == 1
    jan.refresh_from_db()
    assert jan.status == "open", "the month is closed for every entity only when all have closed it"
    # GB cannot post into January; DE and US can
    with pytest.raises(PeriodClosed, match="2026-01 is closed"):
        post(balanced("1.00", on=JAN, entity_id=gb.pk))
    assert post(balanced("1.00", on=JAN, entity_id=de.pk)).period_id == jan.pk
    assert post(balanced("1.00", on=JAN, entity_id=us.pk)).period_id == jan.pk
    # A system catch-up of GB lands in GB's first open month
    caught = post(balanced("1.00", on=JAN, entity_id=gb.pk), catch_up=True)
    assert caught.date == date(2026, 2, 1) and caught.requested_date == JAN
    # Closing in order is per entity: US may not close February before January, GB may
    with pytest.raises(InvalidTransition, match="Close 2026-01 first"):
        period_close(period_id=period(FEB).pk, by=admin, reason="x", override_reason="test", entity_id=us.pk)
    period_close(period_id=period(FEB).pk, by=admin, reason="GB Feb", override_reason="test", entity_id=gb.pk)
    with pytest.raises(InvalidTransition, match="Reopen 2026-02 first"):
        period_reopen(period_id=jan.pk, by=admin, reason="x", entity_id=gb.pk)
    # When every entity has closed January, its summary says closed; one reopen opens it again
    for entity in (de, us):
        period_close(period_id=jan.pk, by=admin, reason="Jan", override_reason="test", entity_id=entity.pk)
    assert AccountingPeriod.objects.get(pk=jan.pk).status == "closed"
    period_reopen(period_id=jan.pk, by=admin, reason="late invoice", entity_id=us.pk)
    assert AccountingPeriod.objects.get(pk=jan.pk).status == "open"
    assert post(balanced("1.00", on=JAN, entity_id=us.pk)).period_id == jan.pk


@pytest.mark.postgres
def test_the_trigger_refuses_a_raw_posting_of_the_closed_entity_only(three, admin):
    de, gb, _us = three
    jan = period(JAN)
    period_close(period_id=jan.pk, by=admin, reason="GB January", override_reason="test", entity_id=gb.pk)

    def raw(entity_id: int, key: str) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                """
                WITH e AS (
                  INSERT INTO ledger_journalentry (number, date, period_id, entity_id, memo, source, origin,
                                                   idempotency_key, spec_hash, total, posted_at)
                  VALUES (%s, '2026-01-09', %s, %s, 'raw', 'raw', 'manual', %s, '', 5, now())
                  RETURNING id, date, period_id
                )
                INSERT INTO ledger_journalline (entry_id, line_no, account_id, debit, credit, memo, date, period_id,
                                                currency, amount_currency, rate)
                SELECT e.id, v.n, a.id, v.d, v.c, '', e.date, e.period_id, 'EUR', 5, 1
                FROM e, (VALUES (1, '1000', 5, 0), (2, '3000', 0, 5)) AS v(n, code, d, c)
                JOIN ledger_ledgeraccount a ON a.code = v.code
                """,
                [f"RAW-{key}", jan.pk, entity_id, key],
            )

    with pytest.raises(IntegrityError, match=f"2026-01 is closed for entity {gb.pk}"):
        raw(gb.pk, "gb")
    raw(de.pk, "de")  # the other entity's January is open
    entry = JournalEntry.objects.get(idempotency_key="de")
    assert set(JournalLine.objects.filter(entry=entry).values_list("entity_id", flat=True)) == {de.pk}


@pytest.mark.postgres
def test_a_line_cannot_claim_another_entity_than_its_entry(three):
    de, gb, _us = three
    entry = post(balanced("5.00", on=JAN, entity_id=de.pk))
    refused = pytest.raises(IntegrityError, match="period and entity must be those of its entry")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_journalline (entry_id, line_no, account_id, debit, credit, memo, date, "
            "period_id, entity_id, currency, amount_currency, rate) SELECT %s, 9, id, 1, 0, '', %s, %s, %s, "
            "'EUR', 1, 1 FROM ledger_ledgeraccount WHERE code = '1000'",
            [entry.pk, entry.date, entry.period_id, gb.pk],
        )


@pytest.mark.django_db(transaction=True)
def test_numbers_stay_gapless_per_entity_series_under_concurrency():
    de = entity_default()
    gb = _entity("GB", "GB", "GB")
    make_periods(start=date(2026, 1, 1), through=date(2026, 12, 31))
    # Four threads: two post into DE, two into GB, all at once
    plan = [de.pk, de.pk, gb.pk, gb.pk]
    per_thread = 8
    barrier = threading.Barrier(len(plan))
    errors: list[BaseException] = []

    def worker(n: int, entity_id: int) -> None:
        barrier.wait()
        try:
            for i in range(per_thread):
                post(balanced("1.00", on=date(2026, 5, 1 + i), entity_id=entity_id), key=f"t{n}-{i}")
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n, e)) for n, e in enumerate(plan)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    for entity in (de, gb):
        numbers = sorted(
            int(n.rsplit("-", 1)[1])
            for n in JournalEntry.objects.filter(entity=entity).values_list("number", flat=True)
        )
        assert numbers == list(range(1, 2 * per_thread + 1)), entity.code
    assert JournalEntry.objects.filter(entity=gb, number__startswith="GB-JE-2026-").count() == 2 * per_thread


def test_recognition_across_two_entities_posts_one_entry_per_entity(finance):
    books()
    gb = _entity("GB", "GB", "GB")
    de = entity_default()
    projects = []
    for entity in (de, gb):
        contract = make_contract(zero_tax_account())
        line = make_line(contract, "tm", price="0.00")
        Project.objects.filter(pk=contract.project_id).update(entity=entity)
        approved_time(contract.project, line, date(2026, 1, 12), "8", rate="100")
        projects.append(contract.project)
    run = recognition_run(period_id=period(JAN).pk, by=finance)
    assert run.status == "done", run.errors
    entries = JournalEntry.objects.filter(source="recognition", period=period(JAN))
    assert sorted(entries.values_list("entity_id", flat=True)) == sorted([de.pk, gb.pk])
    for entity, project in ((de, projects[0]), (gb, projects[1])):
        entry = entries.get(entity=entity)
        assert set(JournalLine.objects.filter(entry=entry).values_list("project_id", flat=True)) == {project.pk}
        assert set(JournalLine.objects.filter(entry=entry).values_list("entity_id", flat=True)) == {entity.pk}
        assert trial_balance(at=date(2026, 1, 31), entity_id=entity.pk).balanced
    # Running again posts nothing new; the roll-forward reads each entity's own positions
    recognition_run(period_id=period(JAN).pk, by=finance)
    assert JournalEntry.objects.filter(source="recognition", period=period(JAN)).count() == 2
    for entity, project in ((de, projects[0]), (gb, projects[1])):
        report = rollforward(start=date(2026, 1, 1), end=date(2026, 1, 31), entity_id=entity.pk)
        assert [r["project_id"] for r in report.rows] == [project.pk]
        assert report.totals["recognised"] == D("800.00") and report.reconciles
    assert rollforward(start=date(2026, 1, 1), end=date(2026, 1, 31)).totals["recognised"] == D("1600.00")


def test_ar_aging_filters_by_entity(finance):
    books()  # periods, chart and tax categories
    de = entity_default()
    gb = entity_create(
        by=finance,
        values={
            "code": "GB", "series_prefix": "GB", "name": "Northwind UK", "legal_name": "Northwind Consulting UK Ltd",
            "street": "1 King Street", "postcode": "EC2V 8AU", "city": "London", "country": "GB",
            "vat_id": "GB123456727", "functional_currency": de.functional_currency,
        },
    )  # fmt: skip
    bank_account_add(by=finance, entity_id=gb.pk, iban="GB29NWBK60161331926819", bic="NWBKGB2L", currency="EUR")
    issued = {}
    for entity, amount in ((de, "100.00"), (gb, "300.00")):
        contract, _, _ = milestone_contract(amount)
        Contract.objects.filter(pk=contract.pk).update(entity=entity)
        contract.refresh_from_db()
        with transaction.atomic():
            draft = invoice_draft_for_contract(contract=contract, period_end=date(2026, 1, 31))
        issued[entity.code] = invoice_issue(invoice_id=draft.pk, by=finance, on=date(2026, 2, 1))
    assert issued["GB"].entity_id == gb.pk
    on = date(2026, 3, 31)
    totals = {code: sum((r.total for r in ar_aging(as_of=on, entity_id=e.pk).rows), D("0")) for code, e in
              (("DE", de), ("GB", gb))}  # fmt: skip
    assert totals == {"DE": issued["DE"].gross_total, "GB": issued["GB"].gross_total}
    assert sum((r.total for r in ar_aging(as_of=on).rows), D("0")) == totals["DE"] + totals["GB"]


def test_the_trial_balance_page_and_api_filter_by_entity_with_a_fixed_query_count(three, client_as, api_as):
    de, gb, us = three
    client = client_as("finance")
    api = api_as("finance")
    _post_books(de, gb, us)
    page = reverse("ledger:trial_balance") + f"?entity={gb.pk}&at=2026-03-31"
    endpoint = f"/api/v1/ledger/reports/trial-balance/?entity={gb.pk}&at=2026-03-31"
    response = client.get(page)
    assert response.status_code == 200
    assert response.context["tb"].balanced and "Books of: GB Northwind GB" in response.content.decode()
    body = api.get(endpoint).json()
    assert body["entity"] == "GB" and body["balanced"] is True
    assert {r["code"]: r["closing_debit"] for r in body["rows"]}["1000"] == "743.00"
    everyone = client.get(reverse("ledger:trial_balance") + "?at=2026-03-31")
    assert "All entities (summed)" in everyone.content.decode()
    assert api.get("/api/v1/ledger/reports/trial-balance/?entity=999999").status_code == 400

    small_page, _ = count_queries(lambda: client.get(page))
    small_api, _ = count_queries(lambda: api.get(endpoint))
    for i in range(20):
        post(balanced("3.00", credit="4000", on=date(2026, 3, 1 + i), entity_id=gb.pk))
        post(balanced("2.00", credit="4000", on=date(2026, 3, 1 + i), entity_id=us.pk))
    large_page, _ = count_queries(lambda: client.get(page))
    large_api, _ = count_queries(lambda: api.get(endpoint))
    assert (large_page, large_api) == (small_page, small_api)


@pytest.mark.parametrize("role", ["sales", "consultant"])
def test_other_roles_cannot_read_an_entity_trial_balance(three, client_as, api_as, role):
    _de, gb, _us = three
    assert client_as(role).get(reverse("ledger:trial_balance") + f"?entity={gb.pk}").status_code == 403
    assert api_as(role).get(f"/api/v1/ledger/reports/trial-balance/?entity={gb.pk}").status_code == 403


def test_the_periods_page_and_api_close_one_entity(three, client_as, api_as):
    _de, gb, us = three
    client = client_as("finance")
    jan = period(JAN)
    response = client.get(reverse("ledger:periods") + f"?entity={gb.pk}")
    assert response.status_code == 200 and "Months of <strong>GB" in response.content.decode()
    url = f"/api/v1/ledger/periods/{jan.pk}/close/"
    assert api_as("admin").post(url, {"reason": "x", "entity": 999999}).status_code == 400
    assert api_as("sales").post(url, {"reason": "x", "entity": gb.pk}).status_code == 403
    body = api_as("admin").post(url, {"reason": "GB done", "override_reason": "empty firm", "entity": gb.pk})
    assert body.status_code == 200, body.json()
    assert body.json()["closed_for"] == ["GB"] and body.json()["status"] == "open"
    assert PeriodClose.objects.filter(period=jan, entity=us).exists() is False
    checklist = "/api/v1/ledger/revenue-reports/checklist/"
    assert api_as("finance").get(f"{checklist}{jan.pk}/?entity={gb.pk}").json()["status"] == "closed"
    assert api_as("finance").get(f"{checklist}{jan.pk}/").json()["status"] == "open"
    page = client.get(reverse("ledger:close_checklist", args=[jan.pk]) + f"?entity={gb.pk}").content.decode()
    assert "Closing the books of <strong>GB" in page and 'data-testid="period-closed"' in page
    listing = client.get(reverse("ledger:periods") + f"?entity={gb.pk}").content.decode()
    assert 'data-testid="reopen-2026-01"' in listing
    assert client.get(reverse("ledger:periods") + "?entity=abc").status_code == 404


@pytest.fixture
def functional_eur():
    with override_settings(PSA_FUNCTIONAL_CURRENCY="EUR"):
        yield


def _usd_receivable(amount: str, on: date, entity: LegalEntity, client: Account) -> None:
    line = fx_line("1100", rate=rate_for(currency="USD", on=on), debit=D(amount), client_id=client.pk)
    spec = EntrySpec(
        date=on,
        memo=f"USD {amount}",
        lines=(line, LineSpec("4000", credit=line.debit, client_id=client.pk)),
        entity_id=entity.pk,
    )
    entry_post(spec=spec, key=f"usd:{entity.code}:{amount}")


def test_the_revaluation_posts_one_entry_per_entity_and_leaves_out_a_closed_entity(three, admin, functional_eur):
    de, gb, us = three
    client = Account.objects.create(name="Acme Inc.")
    for on, value in ((date(2026, 1, 2), "0.90"), (date(2026, 1, 31), "0.92")):
        ExchangeRate.objects.update_or_create(currency="USD", quote="EUR", date=on, defaults={"rate": D(value)})
    _usd_receivable("1000.00", date(2026, 1, 10), de, client)  # 900.00 EUR, revalued 920.00: +20.00
    _usd_receivable("500.00", date(2026, 1, 11), gb, client)  # 450.00 EUR, revalued 460.00: +10.00
    _usd_receivable("200.00", date(2026, 1, 12), us, client)  # US closes January first: left out
    period_close(period_id=period(JAN).pk, by=admin, reason="US", override_reason="test", entity_id=us.pk)
    run = revaluation_run(period_id=period(JAN).pk, by=admin)
    entries = JournalEntry.objects.filter(source=run.source)
    assert sorted(entries.values_list("entity_id", flat=True)) == sorted([de.pk, gb.pk])
    gains = {e.entity_id: sum((ln.credit for ln in e.lines.filter(account__code="7150")), D("0")) for e in entries}
    assert gains == {de.pk: D("20.00"), gb.pk: D("10.00")}
    for entry in entries:
        assert set(entry.lines.values_list("entity_id", flat=True)) == {entry.entity_id}
        assert entry.auto_reverse_on == date(2026, 2, 1)
    assert trial_balance(at=date(2026, 1, 31), entity_id=us.pk).balanced
