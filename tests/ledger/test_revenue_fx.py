"""Revenue recognition for contracts in a foreign currency (IFRIC 22, ledger.services.revenue's docstring), on
hand-computed examples in a EUR ledger: revenue released from deferred revenue at the deferral's booked value,
revenue ahead of billing at the recognition date's rate, the invoice's realised exchange difference on relieving
unbilled receivable; invariant 7 in the contract's currency, the trial balance, re-runs, a missing rate.

Invoices here are posted the way billing posts them in a foreign currency (contract_position_split at the
invoice's rate, position_lines, position_fx_difference): billing's own conversion is another change, and these
tests pin the ledger's side of the rule.
"""

from datetime import date
from decimal import Decimal
from itertools import count

import pytest
from django.db.models import Sum

from ledger.choices import LOSS_PROVISION_CODE, RecognitionMethod, RecognitionRunStatus, SystemAccount
from ledger.models import JournalEntry, JournalLine, Recognition, RevenueSchedule
from ledger.selectors.revenue import rollforward
from ledger.services import account_code_for
from ledger.services.contract_position import (
    POSITION_ROLES,
    contract_position_split,
    position_fx_difference,
    position_lines,
)
from ledger.services.posting import EntrySpec, entry_post, fx_difference_line, fx_line
from ledger.services.revenue import (
    estimate_set,
    recognition_run,
    revenue_schedule_method_set,
    revenue_schedules_ensure,
)
from psa.core.fx import convert, rate_for
from psa.core.models import ExchangeRate
from tests.billing.factories import accept_milestone, make_contract, make_line
from tests.ledger.revenue_factories import D, approved_time, books, gl, gl_code, period, revenue, zero_tax_account

pytestmark = pytest.mark.django_db
UNBILLED, DEFERRED = SystemAccount.UNBILLED, SystemAccount.DEFERRED
GAIN, LOSS = SystemAccount.FX_REALISED_GAIN, SystemAccount.FX_REALISED_LOSS
_n = count(1)


@pytest.fixture(autouse=True)
def ledger_books():
    books()


def rate(currency: str, on: date, value: str) -> None:
    ExchangeRate.objects.create(currency=currency, quote="EUR", date=on, rate=D(value))


def contract_in(currency: str, *, model: str = "milestone", start=date(2026, 1, 1), end=date(2026, 12, 31)):
    return make_contract(zero_tax_account(currency=currency), start=start, end=end)


def run(on: date):
    return recognition_run(period_id=period(on).pk)


def invoice(contract, on: date, net: str) -> JournalEntry:
    """An invoice of `net` (contract currency, no tax) posted as billing posts one: Dr AR at the invoice date's
    rate, the contract position through the one rule, the realised difference on relieved unbilled receivable."""
    amount = D(net)
    project, client = contract.project_id, contract.account_id
    at = rate_for(currency=contract.currency, on=on)
    parts = contract_position_split(project_id=project, on=on, amount=-amount, rate=at)
    codes = {role.value: account_code_for(role) for role in POSITION_ROLES}
    dims = {"client_id": client, "project_id": project}
    lines = [fx_line(account_code_for(SystemAccount.RECEIVABLE), rate=at, debit=amount, **dims)]
    lines += position_lines(parts, codes=codes, currency=contract.currency, **dims)
    difference = position_fx_difference(parts=parts, functional_net=convert(amount=amount, rate=at), debit=False)
    if difference is not None:
        role, value, debit = difference
        side = {"debit": value} if debit else {"credit": value}
        lines.append(fx_difference_line(account_code_for(role), currency=contract.currency, **side, **dims))
    n = next(_n)
    spec = EntrySpec(date=on, memo=f"Invoice {n}", source=f"invoice:fx-{n}", lines=lines)
    return entry_post(spec=spec, key=f"test-invoice-fx:{n}")


def in_currency(role: SystemAccount, project) -> Decimal:
    """Debit-positive balance of a position account for a project in the contract's currency."""
    lines = JournalLine.objects.filter(account__system_role=role, project=project)
    debit = lines.filter(debit__gt=0).aggregate(v=Sum("amount_currency"))["v"] or D("0")
    credit = lines.filter(credit__gt=0).aggregate(v=Sum("amount_currency"))["v"] or D("0")
    return debit - credit


def assert_invariant_7(contract, invoiced: str) -> None:
    """unbilled - deferred = recognised - net invoiced, in the contract's currency; one side at most."""
    project = contract.project
    unbilled, deferred = in_currency(UNBILLED, project), -in_currency(DEFERRED, project)
    recognised = Recognition.objects.filter(schedule__project=project).aggregate(v=Sum("amount"))["v"] or D("0")
    assert unbilled - deferred == recognised - D(invoiced)
    assert unbilled == 0 or deferred == 0


def assert_trial_balance_balances() -> None:
    totals = JournalLine.objects.aggregate(d=Sum("debit"), c=Sum("credit"))
    assert totals["d"] == totals["c"]


def fx(role: SystemAccount, project=None) -> Decimal:
    return gl(role, project)


# --- (a) advance invoice first, revenue later ------------------------------------------------------------------


def test_revenue_released_from_an_advance_takes_the_deferrals_rate_and_no_exchange_difference():
    rate("USD", date(2026, 1, 1), "0.9000")
    rate("USD", date(2026, 2, 27), "0.8000")
    contract = contract_in("USD")
    line = make_line(contract, "milestone", price="1000.00")
    invoice(contract, date(2026, 1, 15), "1000.00")  # Dr AR 900.00 / Cr deferred 1,000.00 USD = 900.00
    accept_milestone(line, "1000.00", on=date(2026, 2, 20))

    result = run(date(2026, 2, 28))  # the month end's rate is 0.80, but the revenue is the advance's 900.00

    project = contract.project
    assert result.status == RecognitionRunStatus.DONE
    assert revenue(project) == D("900.00")
    assert gl(DEFERRED, project) == D("0.00") and in_currency(DEFERRED, project) == D("0.00")
    assert gl(SystemAccount.RECEIVABLE, project) == D("900.00")
    assert fx(GAIN) == fx(LOSS) == D("0")
    revenue_line = JournalLine.objects.get(entry__source="recognition", account__system_role="services_revenue")
    assert (revenue_line.currency, revenue_line.amount_currency, revenue_line.rate) == ("USD", D("1000.00"), D("0.9"))
    assert result.amount == D("900.00")
    assert_invariant_7(contract, invoiced="1000.00")
    assert_trial_balance_balances()


# --- (b) revenue first, invoice later ---------------------------------------------------------------------------


def test_revenue_ahead_of_billing_takes_the_recognition_rate_and_the_invoice_realises_the_difference():
    rate("USD", date(2026, 1, 30), "0.9000")
    rate("USD", date(2026, 2, 10), "0.9500")
    contract = contract_in("USD")
    line = make_line(contract, "milestone", price="1000.00")
    accept_milestone(line, "1000.00", on=date(2026, 1, 20))

    run(date(2026, 1, 31))  # 1,000.00 USD at 0.90: Dr unbilled 900.00 / Cr revenue 900.00
    project = contract.project
    assert (revenue(project), gl(UNBILLED, project), in_currency(UNBILLED, project)) == (
        D("900.00"),
        D("900.00"),
        D("1000.00"),
    )
    invoice(contract, date(2026, 2, 10), "1000.00")  # 950.00 at 0.95 relieves 900.00: a gain of 50.00

    assert gl(SystemAccount.RECEIVABLE, project) == D("950.00")
    assert gl(UNBILLED, project) == D("0.00") and in_currency(UNBILLED, project) == D("0.00")
    assert fx(GAIN, project) == D("-50.00") and fx(LOSS) == D("0")
    assert revenue(project) == D("900.00")
    assert_invariant_7(contract, invoiced="1000.00")
    assert_trial_balance_balances()


def test_an_advance_covering_part_of_the_revenue_releases_its_booked_value_and_the_rest_is_at_the_month_end_rate():
    rate("USD", date(2026, 1, 10), "0.9000")
    rate("USD", date(2026, 1, 31), "0.8000")
    rate("USD", date(2026, 2, 10), "0.8500")
    contract = contract_in("USD")
    first, second = make_line(contract, price="300.00"), make_line(contract, price="500.00")
    accept_milestone(first, "300.00", on=date(2026, 1, 20))
    accept_milestone(second, "500.00", on=date(2026, 1, 20))
    invoice(contract, date(2026, 1, 10), "500.00")  # deferred 500.00 USD = 450.00

    run(date(2026, 1, 31))

    # 800.00 USD: 500.00 releases the deferral's 450.00, 300.00 opens unbilled at 0.80 = 240.00; revenue 690.00
    # allocated 300 : 500 over the two lines.
    project = contract.project
    lines = JournalLine.objects.filter(entry__source="recognition", account__system_role="services_revenue")
    assert sorted((ln.amount_currency, ln.credit, ln.rate) for ln in lines) == [
        (D("300.00"), D("258.75"), D("0.8625")),
        (D("500.00"), D("431.25"), D("0.8625")),
    ]
    assert gl(DEFERRED, project) == D("0.00")
    assert (gl(UNBILLED, project), in_currency(UNBILLED, project)) == (D("240.00"), D("300.00"))

    invoice(contract, date(2026, 2, 10), "300.00")  # 255.00 at 0.85 relieves 240.00: a gain of 15.00

    assert revenue(project) == D("690.00")
    assert fx(GAIN, project) == D("-15.00")
    assert gl(SystemAccount.RECEIVABLE, project) == D("705.00")
    assert_invariant_7(contract, invoiced="800.00")
    assert_trial_balance_balances()


# --- (c) partial release in proportion ---------------------------------------------------------------------------


def test_a_partial_release_takes_its_share_of_the_booked_value_and_the_last_release_the_remainder():
    rate("USD", date(2026, 1, 1), "0.9137")
    rate("USD", date(2026, 2, 1), "0.8000")
    rate("USD", date(2026, 3, 1), "1.1000")
    contract = contract_in("USD")
    line = make_line(contract, "milestone", price="1000.00")
    invoice(contract, date(2026, 1, 10), "1000.00")  # deferred 1,000.00 USD = 913.70
    accept_milestone(line, "300.00", on=date(2026, 2, 15))
    accept_milestone(line, "700.00", on=date(2026, 3, 15))

    run(date(2026, 2, 28))
    project = contract.project
    # 300 of 1,000 USD: round(913.70 x 0.3) = 274.11, not 300 x 0.80.
    assert revenue(project) == D("274.11")
    assert (gl(DEFERRED, project), in_currency(DEFERRED, project)) == (D("-639.59"), D("-700.00"))

    run(date(2026, 3, 31))  # the rest, 700.00 USD, releases the remaining 639.59 (not 700 x 1.10)

    assert revenue(project) == D("913.70")
    assert gl(DEFERRED, project) == D("0.00") and in_currency(DEFERRED, project) == D("0.00")
    assert fx(GAIN) == fx(LOSS) == D("0")
    assert_invariant_7(contract, invoiced="1000.00")
    assert_trial_balance_balances()


# --- (d) T&M in GBP over two months --------------------------------------------------------------------------------


def test_time_and_materials_in_gbp_recognises_each_month_at_its_rate_and_an_invoice_between_realises_its_part():
    rate("GBP", date(2026, 1, 31), "1.1500")
    rate("GBP", date(2026, 2, 5), "1.1600")
    rate("GBP", date(2026, 2, 27), "1.2000")
    contract = contract_in("GBP")
    line = make_line(contract, "tm", price="0.00")
    project = contract.project
    approved_time(project, line, date(2026, 1, 12), "10", rate="100")
    approved_time(project, line, date(2026, 2, 9), "5", rate="100")

    run(date(2026, 1, 31))  # 1,000.00 GBP at 1.15 = 1,150.00
    invoice(contract, date(2026, 2, 5), "1000.00")  # 1,160.00 at 1.16 relieves 1,150.00: a gain of 10.00
    run(date(2026, 2, 28))  # 500.00 GBP more at 1.20 (the rate of 27 February) = 600.00

    assert revenue(project) == D("1750.00")
    assert revenue(project, through=date(2026, 1, 31)) == D("1150.00")
    assert (gl(UNBILLED, project), in_currency(UNBILLED, project)) == (D("600.00"), D("500.00"))
    assert gl(SystemAccount.RECEIVABLE, project) == D("1160.00")
    assert fx(GAIN, project) == D("-10.00")
    assert_invariant_7(contract, invoiced="1000.00")
    assert_trial_balance_balances()


# --- (e) JPY, 0 decimals -------------------------------------------------------------------------------------------


def test_a_jpy_fixed_fee_recognises_whole_yen_and_releases_its_advance_in_proportion():
    rate("JPY", date(2026, 1, 10), "0.0063")
    rate("JPY", date(2026, 1, 31), "0.0061")
    rate("JPY", date(2026, 2, 28), "0.0060")
    contract = contract_in("JPY")
    line = make_line(contract, "fixed_fee", price="1000000", hours=D("30"))
    project = contract.project
    invoice(contract, date(2026, 1, 10), "500000")  # deferred 500,000 JPY = 3,150.00
    approved_time(project, line, date(2026, 1, 15), "10", rate="0")

    run(date(2026, 1, 31))
    # 10 of 30 hours: 333,333.33 rounds to 333,333 JPY, releasing 333,333/500,000 of 3,150.00 = 2,100.00.
    assert Recognition.objects.get(schedule__project=project).amount == D("333333")
    assert revenue(project) == D("2100.00")
    assert (gl(DEFERRED, project), in_currency(DEFERRED, project)) == (D("-1050.00"), D("-166667"))

    approved_time(project, line, date(2026, 2, 16), "20", rate="0")
    run(date(2026, 2, 28))
    # 666,667 JPY: 166,667 releases the remaining 1,050.00, 500,000 opens unbilled at 0.0060 = 3,000.00.
    assert revenue(project) == D("6150.00")
    assert (gl(UNBILLED, project), in_currency(UNBILLED, project)) == (D("3000.00"), D("500000"))
    assert gl(DEFERRED, project) == D("0.00")
    assert_invariant_7(contract, invoiced="500000")
    assert_trial_balance_balances()


def test_a_loss_on_a_usd_fixed_fee_compares_the_cost_in_usd_and_provides_at_the_month_end_rate(make_user):
    """Price 1,000.00 USD; 600.00 EUR spent, 600.00 EUR more expected: EAC 1,200.00 EUR = 1,500.00 USD at 0.80 >
    price; 50 % done -> revenue 500.00 USD = 400.00 EUR; loss 500.00 USD, half still to come -> provision
    250.00 USD = 200.00 EUR."""
    finance = make_user("finance")
    rate("USD", date(2026, 1, 1), "0.8000")
    contract = contract_in("USD")
    line = make_line(contract, "fixed_fee", price="1000.00", hours=D("20"))
    project = contract.project
    revenue_schedules_ensure()
    schedule = RevenueSchedule.objects.get(contract_line=line)
    revenue_schedule_method_set(schedule_id=schedule.pk, method=RecognitionMethod.PERCENT_COST, by=finance)
    approved_time(project, line, date(2026, 1, 12), "10.00", cost="60")
    estimate_set(project_id=project.pk, etc_hours="10", etc_cost="600.00", as_of=date(2026, 1, 31), by=finance)

    run(date(2026, 1, 31))

    assert revenue(project) == D("400.00")
    assert gl_code(LOSS_PROVISION_CODE, project) == D("-200.00")
    assert gl(SystemAccount.COST_OF_SERVICES, project) == D("200.00")
    provision = JournalLine.objects.get(account__code=LOSS_PROVISION_CODE)
    assert (provision.currency, provision.amount_currency, provision.rate) == ("USD", D("250.00"), D("0.8"))
    assert_trial_balance_balances()


# --- re-runs, a missing rate, functional contracts alongside ----------------------------------------------------


def test_running_the_month_again_posts_nothing_new():
    rate("USD", date(2026, 1, 1), "0.9000")
    contract = contract_in("USD")
    line = make_line(contract, "milestone", price="1000.00")
    accept_milestone(line, "1000.00", on=date(2026, 1, 20))
    run(date(2026, 1, 31))
    entries = JournalEntry.objects.count()
    rate("USD", date(2026, 1, 31), "0.5000")  # a later rate changes nothing already recognised

    again = run(date(2026, 1, 31))

    assert JournalEntry.objects.count() == entries
    assert again.status == RecognitionRunStatus.DONE and again.posted_lines == 0
    assert revenue(contract.project) == D("900.00")


def test_a_missing_rate_refuses_the_contracts_in_that_currency_naming_it_and_the_date_and_the_others_post():
    usd = contract_in("USD")
    usd_line = make_line(usd, "milestone", price="1000.00")
    accept_milestone(usd_line, "1000.00", on=date(2026, 1, 20))
    eur = contract_in("EUR")
    eur_line = make_line(eur, "milestone", price="400.00")
    accept_milestone(eur_line, "400.00", on=date(2026, 1, 20))

    result = run(date(2026, 1, 31))

    assert result.status == RecognitionRunStatus.DONE_WITH_ERRORS
    assert [e["line"] for e in result.errors] == [f"{usd.number}/{usd_line.position}"]
    assert "USD" in result.errors[0]["error"] and "2026-01-31" in result.errors[0]["error"]
    assert revenue(usd.project) == D("0") and revenue(eur.project) == D("400.00")

    rate("USD", date(2026, 1, 31), "0.9000")  # finance enters it; the next run posts what was left
    again = run(date(2026, 1, 31))

    assert again.status == RecognitionRunStatus.DONE
    assert revenue(usd.project) == D("900.00") and revenue(eur.project) == D("400.00")
    assert again.amount == D("900.00")


def test_a_run_with_contracts_in_several_currencies_posts_one_balanced_entry_per_chunk():
    rate("USD", date(2026, 1, 1), "0.9000")
    rate("GBP", date(2026, 1, 1), "1.1500")
    contracts = []
    for currency, price in (("USD", "333.33"), ("GBP", "333.33"), ("EUR", "333.34")):
        contract = contract_in(currency)
        accept_milestone(make_line(contract, "milestone", price=price), price, on=date(2026, 1, 20))
        contracts.append(contract)

    result = run(date(2026, 1, 31))

    # 333.33 x 0.90 = 299.997 -> 300.00; 333.33 x 1.15 = 383.3295 -> 383.33; 333.34 as it is.
    assert [revenue(c.project) for c in contracts] == [D("300.00"), D("383.33"), D("333.34")]
    assert result.amount == D("1016.67")
    assert JournalEntry.objects.filter(source="recognition").count() == 1
    assert_trial_balance_balances()


# --- the roll-forward in the contract's currency and with exchange differences -------------------------------


def test_the_rollforward_shows_the_contract_currency_and_reconciles_with_the_netting_exchange_difference():
    rate("USD", date(2026, 1, 1), "0.9000")
    contract = contract_in("USD")
    line = make_line(contract, "milestone", price="1000.00")
    accept_milestone(line, "1000.00", on=date(2026, 1, 20))
    run(date(2026, 1, 31))  # unbilled 1,000.00 USD = 900.00
    # A rate entered late and an invoice dated back before the run: on 15 January there was no unbilled
    # receivable to relieve, so the invoice opens deferred revenue 1,000.00 USD at 0.95 = 950.00. February's run
    # nets the two sides at their booked values: Dr deferred 950.00 / Cr unbilled 900.00 / Cr exchange gain 50.00.
    rate("USD", date(2026, 1, 15), "0.9500")
    invoice(contract, date(2026, 1, 15), "1000.00")
    run(date(2026, 2, 28))

    report = rollforward(start=date(2026, 1, 1), end=date(2026, 2, 28), project_id=contract.project_id)

    (row,) = report.rows
    assert report.reconciles
    assert (row["currency"], row["closing_currency"], row["closing"]) == ("USD", D("0.00"), D("0.00"))
    assert (row["billed"], row["recognised"], row["exchange"], row["other"]) == (
        D("950.00"),
        D("900.00"),
        D("50.00"),
        D("0.00"),
    )
    assert report.totals["exchange"] == D("50.00")
    assert fx(GAIN, contract.project) == D("-50.00")
    assert in_currency(UNBILLED, contract.project) == in_currency(DEFERRED, contract.project) == D("0.00")
    assert_trial_balance_balances()


def test_the_rollforward_page_shows_the_exchange_column_and_the_position_in_the_contracts_currency(client_as):
    rate("USD", date(2026, 1, 1), "0.9000")
    contract = contract_in("USD")
    accept_milestone(make_line(contract, "milestone", price="1000.00"), "1000.00", on=date(2026, 1, 20))
    run(date(2026, 1, 31))

    page = client_as("finance").get("/ledger/revenue/reports/rollforward/?start=2026-01-01&end=2026-01-31")

    html = page.content.decode()
    assert page.status_code == 200
    assert '<th class="num">Exchange</th>' in html and "In contract currency" in html
    assert "1,000.00 USD" in html and "900.00" in html
