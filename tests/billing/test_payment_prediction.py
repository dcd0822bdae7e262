"""The payment-date prediction: it beats the "paid on the due date" guess on the held-out later part of a
generated history by a clear margin, it never learns from payments made after the moment it predicts for, a new
firm falls back to the shrunk empirical estimate, and the collections list reads the history in one query and
follows the expected loss of time value."""

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest

from billing.selectors.collections import DAILY_RATE, collections, payment_history
from billing.selectors.payment_prediction import SHRINK, History, backtest, features, fit
from billing.services import payment_record
from tests.billing.factories import issued_invoice, make_account
from tests.billing.payment_history import generated_history
from tests.querycount import count_queries

D = Decimal


def test_the_model_beats_the_due_date_guess_on_a_held_out_later_part_of_a_generated_history():
    result = backtest(generated_history(clients=12, months=24, seed=7))
    assert result.method == "boosted" and result.tested_on > 100 and result.trained_on > 300
    # Measured: 6.1 days against 17.4 (the margin asked: at least 40 % closer than the due-date guess)
    assert result.mae_model <= 0.6 * result.mae_naive, result


def test_the_margin_holds_on_a_small_firms_generated_history():
    result = backtest(generated_history(clients=5, months=10, seed=3))
    assert result.tested_on >= 15
    assert result.mae_model <= 0.75 * result.mae_naive, result


def _two_invoices(late_first: int, late_second: int) -> History:
    """One client, two invoices due 1 Feb and 1 Mar, paid `late_*` days after their due dates."""
    return History.from_rows(
        [
            (1, 7, date(2026, 1, 2), date(2026, 2, 1), date(2026, 2, 1) + timedelta(days=late_first), 1000.0, 30, 0),
            (2, 7, date(2026, 2, 1), date(2026, 3, 1), date(2026, 3, 1) + timedelta(days=late_second), 1000.0, 30, 0),
            (3, 7, date(2026, 3, 1), date(2026, 4, 1), None, 1000.0, 30, 0),
        ]
    )


def test_a_feature_uses_only_payments_received_before_its_moment():
    history = _two_invoices(10, 40)
    rows = np.array([2, 2])
    before, after = features(history, rows, np.array([date(2026, 3, 1).toordinal(), date(2026, 4, 15).toordinal()]))
    # On 1 March only the first payment (10 days late) was known; the firm's mean is that same invoice: 10.
    assert before[0] == pytest.approx(10.0)
    # On 15 April both: client (10 + 40) / 2 shrunk by 3 pseudo-invoices to the firm's 25 -> still 25.
    assert after[0] == pytest.approx((10 + 40 + SHRINK * 25) / (2 + SHRINK))
    assert before[1] == pytest.approx(0.0) and after[1] == pytest.approx((1 + SHRINK * 0.5) / (2 + SHRINK))


def test_with_little_history_the_prediction_is_the_shrunk_empirical_estimate():
    history = _two_invoices(10, 20)
    model = fit(history)
    assert model.method == "empirical" and model.trained_on == 2
    late, p30 = model.predict(np.array([2]), np.array([date(2026, 4, 1).toordinal()]))
    assert late[0] == pytest.approx(15.0) and p30[0] == pytest.approx(0.0)


def test_the_fit_is_deterministic():
    history = generated_history(clients=6, months=8, seed=11)
    rows = np.nonzero(~history.is_paid | history.is_paid)[0][:20]
    at = history.issue[rows]
    a, b = fit(history).predict(rows, at), fit(history).predict(rows, at)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


# --- on the database ----------------------------------------------------------------------------------------
@pytest.fixture
def slow_and_fast(periods, finance):
    """Two clients, each with two paid invoices (one 3 days early, one 40 days late) and one open."""
    fast, slow = make_account(name="Fast Ltd"), make_account(name="Slow Ltd")
    for month in (1, 2):  # invoice numbers are chronological: month by month
        for account, late in ((fast, -3), (slow, 40)):
            invoice = issued_invoice(finance, "1000.00", account=account, on=date(2026, month, 1))
            payment_record(
                by=finance, account_id=account.pk, amount=invoice.balance,
                received_on=invoice.due_date + timedelta(days=late),
                allocations=[{"invoice_id": invoice.pk, "amount": invoice.balance}],
            )  # fmt: skip
    open_fast = issued_invoice(finance, "1000.00", account=fast, on=date(2026, 4, 1))
    open_slow = issued_invoice(finance, "1000.00", account=slow, on=date(2026, 4, 1))
    return open_fast, open_slow


@pytest.mark.django_db
def test_the_history_is_one_query_with_each_paid_invoices_last_payment_date(slow_and_fast):
    count, history = count_queries(payment_history)
    assert count == 2  # the invoices, then the dispute count per invoice (one query each, whatever the size)
    assert int(history.is_paid.sum()) == 4 and len(history) == 6
    assert sorted(set(history.late[history.is_paid].tolist())) == [-3.0, 40.0]


@pytest.mark.django_db
def test_the_collections_list_puts_the_slow_payer_first_by_expected_loss(slow_and_fast):
    open_fast, open_slow = slow_and_fast
    result = collections(as_of=date(2026, 4, 20))  # after the last payment (12 April)
    assert [r.invoice_id for r in result.rows] == [open_slow.pk, open_fast.pk]
    slow, fast = result.rows
    # Slow: (40 + 40 + 3 x 18.5) / 5 = 27.1 days late; fast: (-3 - 3 + 3 x 18.5) / 5 = 9.9 (the firm's mean 18.5).
    assert slow.expected_date == open_slow.due_date + timedelta(days=27)
    assert fast.expected_date == open_fast.due_date + timedelta(days=10)
    assert slow.expected_loss == (D("1200.00") * 27 * DAILY_RATE).quantize(D("0.01"))
    assert slow.p_over_30 > fast.p_over_30
    assert result.rows == sorted(result.rows, key=lambda r: -r.expected_loss)


@pytest.mark.django_db
def test_an_invoice_past_its_predicted_date_is_expected_after_today(slow_and_fast):
    _, open_slow = slow_and_fast
    as_of = open_slow.due_date + timedelta(days=35)  # 35 days overdue, past the predicted 27
    row = next(r for r in collections(as_of=as_of).rows if r.invoice_id == open_slow.pk)
    # Of the firm's invoices paid later than 35 days, the median remaining time: 40 - 35 = 5 days.
    assert row.expected_date == as_of + timedelta(days=5)
    assert row.p_over_30 == 1.0 and row.days_overdue == 35


@pytest.mark.django_db
def test_the_demos_history_is_back_tested_on_its_later_part(de_seller):
    """The demo's history is short (five months, the paid ones the oldest): the back-test runs on it and the page
    shows both errors; whether the model wins on so few invoices is reported, not asserted (the generated histories
    above carry the margin)."""
    from billing import demo
    from psa.web.demo import seed_users

    seed_users()
    demo.seed()
    result = backtest(payment_history())
    print(result)  # the figures for the report: make test PYTEST_ARGS="... -s -k demos_history"
    assert result.trained_on >= 1 and result.tested_on >= 1
    assert result.mae_model is not None and result.mae_naive is not None
