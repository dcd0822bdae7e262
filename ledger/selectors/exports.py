"""Ledger exports: a beancount file that `bean-check` accepts, and a CSV of journal lines.

Beancount: accounts become `<Root>:<code>-<Name>` (Assets, Liabilities, Equity, Income, Expenses), debits are
positive and credits negative, every amount has exactly two decimals (bean-check's tolerance follows the
decimals written). When the range starts after the first posting, one "Opening balances" transaction carries
our trial balance the day before (it balances because the trial balance does). Balance assertions come from
our own trial balance: at the first day of every month in the range and the day after its end (a beancount
`balance` checks the balance at the start of its date). Client and project ride along as posting metadata.

Currencies (DESIGN.md invariant 11): a line in a foreign currency is posted in its transaction currency with the
total price of its functional amount, `1000.00 USD @@ 900.00 EUR`, so its weight is exactly the functional
amount and every transaction balances in the functional currency as our entry does. An exchange-difference line
(amount in the transaction currency 0) is a functional-currency posting. An account is opened for the
functional currency and every foreign currency posted to it, and asserted per currency: the foreign units it
holds, and in the functional currency its functional balance less the weight of those units. Before the range,
the opening transaction carries each account's foreign units at the total price of their functional value
(at no price when the two do not share a sign, e.g. units settled at another rate) and the rest in the
functional currency, so it still balances.
"""

import io
import re
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Case, F, QuerySet, Sum, When

from ledger.choices import BEANCOUNT_ROOTS, FUNCTIONAL_CURRENCY
from ledger.models import JournalLine, LedgerAccount
from ledger.selectors.books import cumulative
from psa.core.dates import next_month
from psa.core.exports import csv_writer

ZERO_AMOUNT = Decimal("0.00")
CSV_HEADER = [
    "date",
    "number",
    "entry_memo",
    "source",
    "line",
    "account_code",
    "account_name",
    "account_type",
    "debit",
    "credit",
    "currency",
    "amount_currency",
    "rate",
    "functional_currency",
    "client",
    "project",
    "line_memo",
]


def beancount_account(account: LedgerAccount) -> str:
    words = re.findall(r"[A-Za-z0-9]+", account.name)
    name = "".join(w[:1].upper() + w[1:] for w in words) or "Account"
    code = re.sub(r"[^A-Za-z0-9]", "", account.code) or str(account.pk)
    return f"{BEANCOUNT_ROOTS[account.type]}:{code}-{name}"


def _quote(text: str) -> str:
    return '"' + (text or "").replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _lines(start: date, end: date) -> QuerySet[JournalLine]:
    return (
        JournalLine.objects.filter(date__gte=start, date__lte=end)
        .select_related("entry", "account", "client", "project")
        .order_by("date", "entry_id", "line_no")
    )


def _balances_at(at: date) -> dict[int, Decimal]:
    return {key[0]: d - c for key, (d, c) in cumulative(at=at).items()}


def _foreign(at: date, since: date | None = None) -> dict[tuple[int, str], tuple[Decimal, Decimal]]:
    """{(account, currency): (signed units, signed functional amount)} of the foreign-currency lines (not the
    exchange differences) through `at`, from `since` when given. One grouped query."""
    lines = JournalLine.objects.filter(date__lte=at, amount_currency__gt=0).exclude(currency=FUNCTIONAL_CURRENCY)
    if since is not None:
        lines = lines.filter(date__gte=since)
    signed = Case(When(debit__gt=0, then=F("amount_currency")), default=-F("amount_currency"))
    return {
        (r["account_id"], r["currency"]): (r["units"], r["functional"])
        for r in lines.values("account_id", "currency")
        .annotate(units=Sum(signed), functional=Sum(F("debit") - F("credit")))
        .order_by()
    }


def _posting(units: Decimal, currency: str, weight: Decimal) -> str:
    """Units of a foreign currency at the total price of their functional weight (@@ carries no sign: the
    weight takes the units' sign)."""
    return f"{_amount(units)} {currency} @@ {_amount(abs(weight))} {FUNCTIONAL_CURRENCY}"


def beancount_export(*, start: date, end: date) -> Iterator[str]:
    """The ledger from `start` through `end` as beancount text, chunk by chunk."""
    currency = FUNCTIONAL_CURRENCY
    accounts = {a.pk: a for a in LedgerAccount.objects.all()}
    opening = {k: v for k, v in _balances_at(start - timedelta(days=1)).items() if v}
    before = {k: v for k, v in _foreign(start - timedelta(days=1)).items() if v[0] or v[1]}
    # foreign units brought forward, at the total price of their functional value when both share a sign
    opening_units = {
        key: (units, functional if units and functional and (units > 0) == (functional > 0) else ZERO_AMOUNT)
        for key, (units, functional) in before.items()
        if units
    }
    opening_weight: dict[int, Decimal] = {}
    for (account_id, _), (_, weight) in opening_units.items():
        opening_weight[account_id] = opening_weight.get(account_id, ZERO_AMOUNT) + weight
    currencies: dict[int, set[str]] = {}
    for account_id, code in (
        JournalLine.objects.filter(date__lte=end, amount_currency__gt=0)
        .exclude(currency=currency)
        .values_list("account_id", "currency")
        .distinct()
    ):
        currencies.setdefault(account_id, set()).add(code)
    used = (
        set(opening)
        | {account_id for account_id, _ in opening_units}
        | set(
            JournalLine.objects.filter(date__gte=start, date__lte=end).values_list("account_id", flat=True).distinct()
        )
    )
    yield f"; {settings.PSA_FIRM_NAME} general ledger, {start:%Y-%m-%d} to {end:%Y-%m-%d}, exported by PSA\n"
    yield f'option "title" {_quote(settings.PSA_FIRM_NAME + " ledger")}\n'
    yield f'option "operating_currency" "{currency}"\n\n'
    for account_id in sorted(used, key=lambda pk: accounts[pk].code):
        account = accounts[account_id]
        held = ",".join([currency, *sorted(currencies.get(account_id, ()))])
        yield f"{start:%Y-%m-%d} open {beancount_account(account)} {held}\n"
        yield f"  name: {_quote(account.name)}\n"
    yield "\n"
    if opening or opening_units:
        yield f'{start:%Y-%m-%d} * "Opening balances" "Trial balance at {start - timedelta(days=1):%Y-%m-%d}"\n'
        for account_id in sorted(used, key=lambda pk: accounts[pk].code):
            name = beancount_account(accounts[account_id])
            rest = opening.get(account_id, ZERO_AMOUNT) - opening_weight.get(account_id, ZERO_AMOUNT)
            if rest:
                yield f"  {name}  {_amount(rest)} {currency}\n"
            for (held_id, code), (units, weight) in sorted(opening_units.items()):
                if held_id == account_id:
                    yield f"  {name}  {_posting(units, code, weight)}\n"
        yield "\n"

    assertion_days = []
    day = next_month(start)
    while day <= end:
        assertion_days.append(day)
        day = next_month(day)
    assertion_days.append(end + timedelta(days=1))
    pending = list(assertion_days)

    def assertions(upto: date | None) -> Iterator[str]:
        while pending and (upto is None or pending[0] <= upto):
            at = pending.pop(0)
            balances = _balances_at(at - timedelta(days=1))
            moved = _foreign(at - timedelta(days=1), since=start)
            for account_id in sorted(used, key=lambda pk: accounts[pk].code):
                name = beancount_account(accounts[account_id])
                value = balances.get(account_id, ZERO_AMOUNT) - opening_weight.get(account_id, ZERO_AMOUNT)
                for code in sorted(currencies.get(account_id, ())):
                    value -= moved.get((account_id, code), (ZERO_AMOUNT, ZERO_AMOUNT))[1]
                yield f"{at:%Y-%m-%d} balance {name}  {_amount(value)} {currency}\n"
                for code in sorted(currencies.get(account_id, ())):
                    units = opening_units.get((account_id, code), (ZERO_AMOUNT, ZERO_AMOUNT))[0]
                    units += moved.get((account_id, code), (ZERO_AMOUNT, ZERO_AMOUNT))[0]
                    yield f"{at:%Y-%m-%d} balance {name}  {_amount(units)} {code}\n"
            yield "\n"

    current = None
    for line in _lines(start, end).iterator(chunk_size=2000):
        entry = line.entry
        if current != entry.pk:
            yield from assertions(entry.date)
            if current is not None:
                yield "\n"
            current = entry.pk
            yield f"{entry.date:%Y-%m-%d} * {_quote(entry.memo)}\n"
            yield f"  number: {_quote(entry.number)}\n"
            if entry.source:
                yield f"  source: {_quote(entry.source)}\n"
        amount = line.debit - line.credit
        if line.currency != currency and line.amount_currency:
            units = line.amount_currency if line.debit else -line.amount_currency
            yield f"  {beancount_account(line.account)}  {_posting(units, line.currency, amount)}\n"
        else:  # the functional currency, or an exchange difference (no amount in the transaction currency)
            yield f"  {beancount_account(line.account)}  {_amount(amount)} {currency}\n"
        if line.client:  # selected with the line (select_related): no query
            yield f"    client: {_quote(line.client.name)}\n"
        if line.project:
            yield f"    project: {_quote(line.project.code)}\n"
        if line.memo:
            yield f"    memo: {_quote(line.memo)}\n"
    if current is not None:
        yield "\n"
    yield from assertions(None)


def csv_export(*, start: date, end: date) -> Iterator[str]:
    """One CSV row per journal line from `start` through `end` (amounts as plain 2-decimal numbers)."""
    buffer = io.StringIO()
    writer = csv_writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_HEADER)
    yield flush()
    for line in _lines(start, end).iterator(chunk_size=2000):
        writer.writerow(
            [
                line.date.isoformat(),
                line.entry.number,
                line.entry.memo,
                line.entry.source,
                line.line_no,
                line.account.code,
                line.account.name,
                line.account.type,
                _amount(line.debit),
                _amount(line.credit),
                line.currency,
                _amount(line.amount_currency),
                f"{line.rate.normalize():f}",
                FUNCTIONAL_CURRENCY,
                line.client.name if line.client else "",
                line.project.code if line.project else "",
                line.memo,
            ]
        )
        yield flush()


EXPORTERS = {"beancount": (beancount_export, "beancount", "text/plain"), "csv": (csv_export, "csv", "text/csv")}
