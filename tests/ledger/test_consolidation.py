"""The consolidated trial balance (ledger.selectors.consolidation), its page and API.

The hand-computed firm (every entity books in EUR), at 31 March 2026:
- DE: an invoice Dr AR 2,000.00 / Cr services revenue 2,000.00 (March); the recharge from UK:
  Dr cost of services 1,056.00 / Cr intercompany payable 1,056.00.
- UK: salaries Dr 900.00 / Cr cash 900.00 (March); the recharge: Dr intercompany receivable 1,056.00 /
  Cr intercompany revenue 1,056.00.
- US: capital Dr cash 500.00 / Cr owner's equity 500.00 (January).
Reporting in USD with USD→EUR rates 0.90 (2 Jan), 0.92 (2 Feb), 0.95 (2 Mar), 0.96 (31 Mar): the closing rate is
0.96, the average the mean of the four, 0.9325. The result of the year, 1,100.00 EUR, is 1,179.62 USD at the
average and 1,145.83 at the closing rate: the translation reserve is the 33.79 between them (a debit).
"""

from datetime import date
from decimal import Decimal

import pytest
from django.test import override_settings

from ledger.selectors.consolidation import consolidation
from ledger.services import EntrySpec, LineSpec, entry_post
from ledger.services.intercompany import recharge_run, transfer_rate_create
from psa.core.models import LegalEntity
from tests.ledger.intercompany_factories import approved, rate, three_entities
from tests.querycount import count_queries

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("functional_eur")]

D = Decimal
AT = date(2026, 3, 31)


@pytest.fixture
def functional_eur():
    with override_settings(PSA_FUNCTIONAL_CURRENCY="EUR"):
        yield


def post(entity, on: date, debit: str, credit: str, amount: str, key: str, **dims):
    return entry_post(
        spec=EntrySpec(
            date=on,
            memo=key,
            entity_id=entity.pk,
            lines=(LineSpec(debit, debit=D(amount), **dims), LineSpec(credit, credit=D(amount), **dims)),
        ),
        key=key,
    )


@pytest.fixture
def group(periods, finance):
    firm = three_entities()
    post(firm.de, date(2026, 3, 10), "1100", "4000", "2000.00", "de-invoice", client_id=firm.client.pk)
    post(firm.uk, date(2026, 3, 25), "5100", "1000", "900.00", "uk-salaries")
    post(firm.us, date(2026, 1, 5), "1000", "3000", "500.00", "us-capital")
    approved(firm.uk_consultant, firm.project, date(2026, 3, 2), "8")
    approved(firm.uk_consultant, firm.project, date(2026, 3, 3), "8")
    transfer_rate_create(by=finance, supplier_id=firm.uk.pk, receiver_id=firm.de.pk, markup_percent="10",
                         valid_from=date(2026, 1, 1))  # fmt: skip
    recharge_run(month=date(2026, 3, 1))
    for on, value in ((date(2026, 1, 2), "0.90"), (date(2026, 2, 2), "0.92"), (date(2026, 3, 2), "0.95"),
                      (AT, "0.96")):  # fmt: skip
        rate("USD", on, value)
    return firm


def rows(report) -> dict[str, object]:
    return {r.code or r.name: r for r in report.rows}


def test_each_entitys_books_balance_and_the_columns_are_the_entities(group):
    report = consolidation(currency="EUR", at=AT)
    assert [e.code for e in report.entities] == ["DE", "UK", "US"]
    assert report.entity_balances == [D("0")] * 3
    by = rows(report)
    assert by["1000"].functional == [D("0"), D("-900.00"), D("500.00")]
    assert by["1300"].functional == [D("0"), D("1056.00"), D("0")]
    assert by["2500"].functional == [D("-1056.00"), D("0"), D("0")]


def test_intercompany_is_eliminated_to_zero_with_the_eliminated_amounts_shown(group):
    report = consolidation(currency="EUR", at=AT)
    by = rows(report)
    assert (by["1300"].eliminated, by["2500"].eliminated) == (D("-1056.00"), D("1056.00"))
    assert (by["4200"].eliminated, by["5000"].eliminated) == (D("1056.00"), D("-1056.00"))
    for code in ("1300", "2500", "4200", "5000"):
        assert by[code].consolidated == 0, code
    assert report.eliminated_total == 0 and report.unmatched == 0
    assert "Intercompany not matched" not in by


def test_reporting_in_the_functional_currency_gives_a_zero_reserve(group):
    report = consolidation(currency="EUR", at=AT)
    assert report.reserve == 0
    assert rows(report)["3200"].consolidated == 0
    assert report.closing.rate == report.average.rate == 1
    assert report.balanced
    assert (report.assets, report.liabilities, report.equity, report.profit) == (
        D("1600.00"), D("0"), D("500.00"), D("1100.00"),
    )  # fmt: skip


def test_the_translated_trial_balance_balances_with_the_translation_reserve(group):
    report = consolidation(currency="USD", at=AT)
    assert report.closing.rate == D("0.96")
    assert report.average.rate == D("0.9325")
    by = rows(report)
    assert by["1100"].translated == [D("2083.33"), D("0"), D("0")]  # closing: 2,000.00 / 0.96
    assert by["4000"].translated == [D("-2144.77"), D("0"), D("0")]  # average: 2,000.00 / 0.9325
    assert by["5100"].translated == [D("0"), D("965.15"), D("0")]
    assert report.reserve == D("33.79")
    assert sum((r.total for r in report.rows), D(0)) == 0  # the translated trial balance balances with it
    for code in ("1300", "2500", "4200", "5000"):
        assert by[code].consolidated == 0, code
    assert (report.assets, report.equity, report.profit) == (D("1666.66"), D("487.04"), D("1179.62"))
    assert report.liabilities_and_equity == report.assets and report.balanced


def test_the_page_states_the_rates_and_the_reserve(group, client_as):
    page = client_as("finance").get("/ledger/consolidation/?currency=USD&at=2026-03-31")
    assert page.status_code == 200
    text = page.content.decode()
    assert "closing rate 1 USD = 0.96 EUR (2026-03-31)" in text
    assert "the mean of 4 daily rates from 2026-01-02 to 2026-03-31" in text
    assert "translation reserve" in text
    assert 'data-testid="consolidation-status"' in text and "balances" in text


def test_the_api_gives_the_consolidated_trial_balance(group, api_as):
    body = api_as("finance").get("/api/v1/ledger/intercompany/consolidation/?currency=USD&at=2026-03-31").json()
    assert body["balanced"] is True
    assert body["entities"] == ["DE", "UK", "US"]
    assert body["translation_reserve"] == "-33.79"
    assert body["eliminated"] == "0.00"
    assert body["totals"]["assets"] == body["totals"]["liabilities_and_equity"] == "1666.66"


def test_a_reporting_currency_without_rates_is_a_409_naming_it(group, api_as, client_as):
    response = api_as("finance").get("/api/v1/ledger/intercompany/consolidation/?currency=CHF&at=2026-03-31")
    assert response.status_code == 409
    assert "CHF" in response.json()["message"]
    page = client_as("finance").get("/ledger/consolidation/?currency=CHF&at=2026-03-31")
    assert page.status_code == 200 and b"No exchange rate from CHF" in page.content


def test_a_bad_currency_or_date_is_a_400(group, api_as):
    api = api_as("finance")
    assert api.get("/api/v1/ledger/intercompany/consolidation/?currency=XXX").status_code == 400
    assert api.get("/api/v1/ledger/intercompany/consolidation/?at=0001-01-01").status_code == 400


def test_the_consolidated_view_query_count_does_not_grow_with_lines_or_entities(group, client_as, api_as):
    client, api = client_as("finance"), api_as("finance")
    url = "/ledger/consolidation/?currency=USD&at=2026-03-31"
    api_url = "/api/v1/ledger/intercompany/consolidation/?currency=USD&at=2026-03-31"
    api.get(api_url)  # the first request of a user reads its roles once
    small_page, _ = count_queries(lambda: client.get(url))
    small_api, _ = count_queries(lambda: api.get(api_url))
    for n in range(20):
        entity = group.us if n % 2 else group.uk
        post(entity, date(2026, 2, 1 + n), "6000", "1000", f"{10 + n}.00", f"rent-{n}")
    france = LegalEntity.objects.create(code="FR", series_prefix="FR", name="Northwind FR", legal_name="Northwind SAS",
                                        country="FR", functional_currency="EUR")  # fmt: skip
    post(france, date(2026, 3, 2), "1000", "3000", "75.00", "fr-capital")
    large_page, page = count_queries(lambda: client.get(url))
    large_api, _ = count_queries(lambda: api.get(api_url))
    assert b'data-row="6000"' in page.content and b">FR<" in page.content
    assert large_page == small_page
    assert large_api == small_api


def test_two_suppliers_whose_translated_cents_differ_still_eliminate_exactly(periods, finance):
    # UK 528.00 and US 276.00 to DE 804.00 at the average 0.93: per entity 567.74 + 296.77 = 864.51, but DE's
    # 804.00 is 864.52. Translating each account's sum once keeps both sides at 864.52.
    firm = three_entities()
    approved(firm.uk_consultant, firm.project, date(2026, 3, 2), "8")
    approved(firm.us_consultant, firm.project, date(2026, 3, 3), "4")
    for supplier, markup in ((firm.uk, "10"), (firm.us, "15")):
        transfer_rate_create(by=finance, supplier_id=supplier.pk, receiver_id=firm.de.pk, markup_percent=markup,
                             valid_from=date(2026, 1, 1))  # fmt: skip
    recharge_run(month=date(2026, 3, 1))
    rate("USD", date(2026, 1, 2), "0.90")
    rate("USD", AT, "0.96")
    report = consolidation(currency="USD", at=AT)
    by = rows(report)
    assert by["4200"].translated == [D("0"), D("-567.74"), D("-296.77")]
    assert by["4200"].total == D("-864.52") == -by["5000"].total
    for code in ("1300", "2500", "4200", "5000"):
        assert by[code].consolidated == 0, code
    assert report.unmatched == 0 and "Intercompany not matched" not in by
    assert report.reserve == 0 and report.balanced
