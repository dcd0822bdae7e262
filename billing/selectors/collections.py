"""Collections by predicted risk: every open invoice with its predicted payment date, the probability that it is
paid more than 30 days late, and the expected loss of time value that orders the list.

- The history is one query (every issued invoice with the date its last payment was received) turned into arrays
  (billing.selectors.payment_prediction, which states the method). No per-invoice query builds a feature.
- The fitted model and its back-test are cached for the day, keyed by a fingerprint of that history: a payment or
  a new invoice refits it on the next read; otherwise a page view costs the two queries and no fit.
- Expected loss of time value = open balance in the functional currency (at the invoice's booked rate, so no new
  rate is needed) x expected days late (from the due date to the expected date, never below zero) x the daily
  rate, `ANNUAL_COST_OF_CAPITAL` / 365 (8 % a year: a short-term borrowing rate; money paid late is money the firm
  borrows meanwhile). Rounded to the functional currency's minor unit.
- An open invoice already past its predicted date is conditioned on being unpaid: it is expected after today by
  the median of what the firm's late payers still took (days late - days already overdue, among the invoices that
  were paid later than that), at least one day; its P(> 30 days late) is 1 once it is over 30 days late, else the
  share of the firm's invoices still unpaid that many days after due that went beyond 30 days, shrunk to the
  model's estimate by `SHRINK` pseudo-invoices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from django.core.cache import cache
from django.db.models import Count, Max, QuerySet

from billing.choices import FINAL_STATUSES, OPEN_STATUSES, InvoiceKind, InvoiceStatus
from billing.models import Dispute, Invoice
from billing.selectors.payment_prediction import SHRINK, Backtest, History, PaymentModel, backtest, features, fit
from psa.core.currency import functional_currency
from psa.core.money import ZERO, round_amount

ANNUAL_COST_OF_CAPITAL = Decimal("0.08")
DAILY_RATE = ANNUAL_COST_OF_CAPITAL / Decimal(365)
CACHE_SECONDS = 26 * 3600  # the key carries the day; this only bounds the storage
MODEL_VERSION = 1


def _dispute_counts() -> dict[int, int]:
    """Open and past disputes per invoice, one query: a client who disputes pays later."""
    rows = Dispute.objects.values("invoice_id").annotate(n=Count("id")).order_by()
    return {r["invoice_id"]: r["n"] for r in rows}


def payment_history() -> History:
    """Every issued invoice (credit notes aside): its dates, its functional gross and, when payments settled it in
    full, the date the last of them was received. One query (two once disputes exist)."""
    rows = (
        Invoice.objects.filter(kind=InvoiceKind.INVOICE, status__in=FINAL_STATUSES, due_date__isnull=False)
        .annotate(last_payment=Max("allocations__payment__received_on"))
        .order_by("pk")
        .values_list(
            "pk",
            "account_id",
            "issue_date",
            "due_date",
            "status",
            "last_payment",
            "functional_gross",
            "payment_terms_days",
        )
    )
    disputes = _dispute_counts()
    return History.from_rows(
        [
            (
                pk,
                account,
                issued,
                due,
                paid if status == InvoiceStatus.PAID else None,
                gross,
                terms,
                disputes.get(pk, 0),
            )
            for pk, account, issued, due, status, paid, gross, terms in rows
        ]
    )


@dataclass
class Fitted:
    model: PaymentModel
    backtest: Backtest
    as_of: date


def fitted_model(*, as_of: date, history: History | None = None) -> Fitted:
    """The model fitted on every paid invoice and its back-test, cached for `as_of` and this history."""
    history = history if history is not None else payment_history()
    key = f"billing:payment-model:v{MODEL_VERSION}:{functional_currency()}:{as_of:%Y%m%d}:{history.fingerprint()}"
    found = cache.get(key)
    if found is not None:
        found.model.history = history
        return found
    result = Fitted(model=fit(history), backtest=backtest(history), as_of=as_of)
    cache.set(key, result, CACHE_SECONDS)
    return result


@dataclass(frozen=True)
class CollectionRow:
    invoice_id: int
    number: str
    account_id: int
    account: str
    entity_id: int
    currency: str
    issue_date: date
    due_date: date
    balance: Decimal
    functional_balance: Decimal
    days_overdue: int
    expected_date: date
    expected_days_late: int
    p_over_30: float
    expected_loss: Decimal

    @property
    def p_over_30_percent(self) -> int:
        return round(self.p_over_30 * 100)


@dataclass
class Collections:
    as_of: date
    rows: list[CollectionRow]
    backtest: Backtest
    method: str
    trained_on: int
    daily_rate: Decimal = DAILY_RATE
    annual_rate: Decimal = ANNUAL_COST_OF_CAPITAL
    functional: str = field(default_factory=functional_currency)

    @property
    def annual_percent(self) -> str:
        return f"{(self.annual_rate * 100).normalize():f}"

    @property
    def total_expected_loss(self) -> Decimal:
        return sum((r.expected_loss for r in self.rows), ZERO)


def _conditioned(
    history: History, overdue: np.ndarray, late: np.ndarray, p30: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Expected remaining days and P(> 30) of invoices already `overdue` days late and still unpaid."""
    paid_late = history.late[history.is_paid]
    remaining = np.ones(len(overdue))
    p = p30.copy()
    for i, o in enumerate(overdue):
        if o <= 0:
            continue
        later = paid_late[paid_late > o]
        if o >= late[i]:
            remaining[i] = max(1.0, float(np.median(later - o))) if len(later) else 7.0
        if o > 30:
            p[i] = 1.0
        else:
            p[i] = (float((later > 30).sum()) + SHRINK * p30[i]) / (len(later) + SHRINK)
    return remaining, p


def open_invoice_predictions(
    *, as_of: date, fitted: Fitted | None = None, invoices: QuerySet[Invoice] | None = None
) -> list[CollectionRow]:
    """A CollectionRow for every open invoice issued on or before `as_of` (or for `invoices`, a queryset of open
    invoices), ordered by expected loss (largest first), then due date. Two queries plus the model's."""
    history = payment_history() if fitted is None else fitted.model.history
    fitted = fitted or fitted_model(as_of=as_of, history=history)
    queryset = invoices if invoices is not None else Invoice.objects.all()
    opened = list(
        queryset.filter(kind=InvoiceKind.INVOICE, status__in=OPEN_STATUSES, issue_date__lte=as_of)
        .select_related("account")
        .order_by("pk")
    )
    if not opened:
        return []
    position = {int(pk): i for i, pk in enumerate(history.invoice)}
    rows = np.array([position[i.pk] for i in opened if i.pk in position], dtype=np.int64)
    opened = [i for i in opened if i.pk in position]
    today = as_of.toordinal()
    late, p30 = fitted.model.predict(rows, np.full(len(rows), today))
    overdue = today - history.due[rows]
    remaining, p30 = _conditioned(history, overdue, late, p30)
    functional = functional_currency()
    out = []
    for k, invoice in enumerate(opened):
        # Issued invoices carry their dates and entity (a check constraint on the table says so).
        due, issued, entity_id = invoice.due_date, invoice.issue_date, invoice.entity_id
        assert due is not None and issued is not None and entity_id is not None
        predicted = due + timedelta(days=round(late[k]))
        expected = predicted if predicted > as_of else as_of + timedelta(days=round(remaining[k]))
        days_late = max(0, (expected - due).days)
        balance = invoice.balance
        # The open part at the booked rate: the functional gross less what settlements took off it.
        booked = invoice.functional_balance
        fbalance = max(ZERO, booked if booked is not None else balance)
        out.append(
            CollectionRow(
                invoice_id=invoice.pk,
                number=invoice.number or "",
                account_id=invoice.account_id,
                account=invoice.account.name,
                entity_id=entity_id,
                currency=invoice.currency,
                issue_date=issued,
                due_date=due,
                balance=balance,
                functional_balance=fbalance,
                days_overdue=max(0, int(overdue[k])),
                expected_date=expected,
                expected_days_late=days_late,
                p_over_30=float(p30[k]),
                expected_loss=round_amount(fbalance * days_late * DAILY_RATE, functional),
            )
        )
    out.sort(key=lambda r: (-r.expected_loss, r.due_date, r.invoice_id))
    return out


def collections(*, as_of: date, invoices: QuerySet[Invoice] | None = None, min_risk: int | None = None) -> Collections:
    """The collections list: open invoices (of `invoices`, a filtered queryset, when given) ordered by expected
    loss of time value, keeping those whose P(> 30 days late) is at least `min_risk` percent. A fixed number of
    queries at any size."""
    history = payment_history()
    fitted = fitted_model(as_of=as_of, history=history)
    rows = open_invoice_predictions(as_of=as_of, fitted=fitted, invoices=invoices)
    if min_risk is not None:
        rows = [r for r in rows if r.p_over_30 * 100 >= min_risk]
    return Collections(
        as_of=as_of,
        rows=rows,
        backtest=fitted.backtest,
        method=fitted.model.method,
        trained_on=fitted.model.trained_on,
    )


def client_expected_days_late(*, as_of: date, fitted: Fitted) -> tuple[dict[int, float], float]:
    """Each client's shrunk mean days late as known at `as_of` (the first feature), and the firm's mean: what
    the cash forecast adds to the due date of invoices not issued yet."""
    history = fitted.model.history
    firm = fitted.model.firm_mean_late
    accounts = np.unique(history.account)
    if not len(accounts):
        return {}, firm
    # One representative row per client is enough: the client features depend only on the account and the date.
    first_row = {int(a): int(np.nonzero(history.account == a)[0][0]) for a in accounts}
    rows = np.array(list(first_row.values()), dtype=np.int64)
    x = features(history, rows, np.full(len(rows), as_of.toordinal()))
    return {a: float(x[i, 0]) for i, a in enumerate(first_row)}, firm
