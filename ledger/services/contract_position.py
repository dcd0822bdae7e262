"""The contract position: the one rule that splits a posting between unbilled receivable (contract asset) and
deferred revenue (contract liability) for a contract at a date (DESIGN.md section 6, invariant 7).

Billing's invoice and credit-note postings (billing.services.posting) and revenue recognition
(ledger.services.revenue) both call it; nothing else decides the split.

- The position a posting dated `on` may relieve, per project (one project = one contract), is each side's balance
  through `on` and over all dates, whichever is smaller (never below zero): documents dated after `on` may
  already be posted, and neither side is ever overdrawn whether the books are read at `on` or today.
- A posting that debits the position (revenue recognised, a credit note issued) first relieves deferred revenue;
  the rest is unbilled receivable. A posting that credits it (an invoice issued, revenue reversed) first relieves
  unbilled receivable; the rest is deferred revenue.
- Documents dated out of order (an invoice dated after a month end, posted before that month's recognition) can
  still leave one contract with both sides; `contract_positions_net` nets them, Dr deferred / Cr unbilled, dated
  the project's latest position date (or the month end of the run, when later).

Foreign currency (IFRIC 22, DESIGN.md section 10). The position is kept in the contract's currency: each side's
balance in that currency (Σ amount_currency of its lines) and what it was booked at in the functional currency
(Σ debit - credit). A posting of `amount` in the contract's currency at the document's rate `rate`:
- the part that relieves a side leaves it at the functional value it was booked at, in proportion (the whole
  booked value when the side is emptied): revenue released from deferred revenue is worth what the advance
  invoice was booked at, and an invoice relieving unbilled receivable takes it off at the recognition rates;
- the rest opens or grows the other side at the document's rate.
Recognition credits revenue with the functional sum of the parts. An invoice or credit note posts its net at its
own rate, so the difference against the parts is an exchange gain or loss (`position_fx_difference`).

Worked example (functional EUR): revenue of 1,000.00 USD recognised on 31 January at 0.90 opens unbilled
receivable 1,000.00 USD = 900.00 EUR (Cr revenue 900.00). An invoice of 1,000.00 USD net on 10 February at 0.95 is
worth 950.00 EUR: it relieves the unbilled receivable at its booked 900.00 and the 50.00 difference is an exchange
gain. Had the invoice come first (deferred revenue 950.00 EUR at 0.95), revenue recognised on 31 January at 0.90
would release 950.00 EUR of revenue: the deferral's rate, not the recognition date's.
"""

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Case, DecimalField, F, Max, Q, Sum, Value, When
from django.db.models.functions import Coalesce

from ledger.choices import SystemAccount
from ledger.models import JournalLine
from ledger.services.accounts import account_code_for
from ledger.services.posting import EntrySpec, LineSpec, entry_post, fx_difference_line
from psa.core.currency import functional_currency
from psa.core.fx import Rate
from psa.core.money import FX_RATE_PLACES, ZERO, round_amount, round_to

POSITION_ROLES = (SystemAccount.UNBILLED, SystemAccount.DEFERRED)


@dataclass(frozen=True)
class ContractPosition:
    """What a posting may relieve: the unbilled receivable (debit balance) and deferred revenue (credit balance),
    in the contract's currency, and the functional value each was booked at (None: the same amounts, a contract
    in the functional currency)."""

    unbilled: Decimal = ZERO
    deferred: Decimal = ZERO
    unbilled_booked: Decimal | None = None
    deferred_booked: Decimal | None = None
    currency: str = ""

    def booked(self, role: SystemAccount) -> tuple[Decimal, Decimal]:
        """(amount in the contract's currency, functional value booked) of one side."""
        if role == SystemAccount.UNBILLED:
            return self.unbilled, self.unbilled if self.unbilled_booked is None else self.unbilled_booked
        return self.deferred, self.deferred if self.deferred_booked is None else self.deferred_booked


@dataclass(frozen=True)
class PositionPart:
    """One line of a contract-position posting: the account's system role and the amount in the contract's
    currency, on the side given, with its functional value and the rate that value works out to."""

    role: SystemAccount
    amount: Decimal
    debit: bool
    functional: Decimal | None = None  # None: the same as `amount` (a contract in the functional currency)
    rate: Decimal = Decimal(1)

    @property
    def value(self) -> Decimal:
        return self.amount if self.functional is None else self.functional


_SIGNED_FC = Case(
    When(debit__gt=0, then=F("amount_currency")),
    default=-F("amount_currency"),
    output_field=DecimalField(max_digits=18, decimal_places=2),
)


def contract_positions(*, project_ids: list[int], on: date) -> dict[int, ContractPosition]:
    """Per project, what a posting dated `on` may relieve (the lesser of the balance through `on` and over all
    dates, never negative), in the contract's currency with its booked functional value. One grouped query
    whatever the number of projects."""
    if not project_ids:
        return {}
    through = Q(date__lte=on)
    rows = (
        JournalLine.objects.filter(project_id__in=project_ids, account__system_role__in=POSITION_ROLES)
        .values("project_id", "account__system_role")
        .annotate(
            fc=Sum(_SIGNED_FC),
            fn=Sum(F("debit") - F("credit")),
            fc_at=Coalesce(Sum(_SIGNED_FC, filter=through), Value(ZERO)),
            fn_at=Coalesce(Sum(F("debit") - F("credit"), filter=through), Value(ZERO)),
            currency=Max("currency"),
        )
        .order_by()
    )
    sides: dict[int, dict[str | None, tuple[Decimal, Decimal]]] = {}
    currencies: dict[int, str] = {}
    for r in rows:
        sign = 1 if r["account__system_role"] == SystemAccount.UNBILLED else -1
        # The lesser of the balance through `on` and over all dates, and the booked value of that same balance.
        whole, at = (sign * r["fc"], sign * r["fn"]), (sign * r["fc_at"], sign * r["fn_at"])
        amount, booked = min(whole, at)
        sides.setdefault(r["project_id"], {})[r["account__system_role"]] = (
            (amount, booked) if amount > 0 else (ZERO, ZERO)
        )
        currencies[r["project_id"]] = r["currency"]
    positions = {}
    for p in project_ids:
        unbilled = sides.get(p, {}).get(SystemAccount.UNBILLED, (ZERO, ZERO))
        deferred = sides.get(p, {}).get(SystemAccount.DEFERRED, (ZERO, ZERO))
        positions[p] = ContractPosition(
            unbilled=unbilled[0],
            deferred=deferred[0],
            unbilled_booked=unbilled[1],
            deferred_booked=deferred[1],
            currency=currencies.get(p, ""),
        )
    return positions


def _effective_rate(functional: Decimal, amount: Decimal, fallback: Decimal) -> Decimal:
    rate = round_to(functional / amount, FX_RATE_PLACES) if amount else ZERO
    return rate if rate > 0 else fallback


def position_split(*, amount: Decimal, position: ContractPosition, rate: Rate | None = None) -> list[PositionPart]:
    """Split `amount` (in the contract's currency) against `position`: positive debits the position (first
    relieves deferred revenue, the rest is unbilled receivable), negative credits it (first relieves unbilled
    receivable, the rest is deferred revenue). Returns the non-zero parts, the relieving one first; they sum to
    abs(amount). With `rate` (the document's, for a contract in a foreign currency) each part carries its
    functional value: the relieving part at the booked value of what it relieves (in proportion), the rest at
    `rate`."""
    if amount > 0:
        first = min(amount, position.deferred)
        parts = [(SystemAccount.DEFERRED, first), (SystemAccount.UNBILLED, amount - first)]
    else:
        first = min(-amount, position.unbilled)
        parts = [(SystemAccount.UNBILLED, first), (SystemAccount.DEFERRED, -amount - first)]
    if rate is None or rate.date is None:
        return [PositionPart(role=role, amount=part, debit=amount > 0) for role, part in parts if part > 0]
    functional = rate.quote
    result = []
    for i, (role, part) in enumerate(parts):
        if part <= 0:
            continue
        if i == 0:
            balance, booked = position.booked(role)
            value = booked if part == balance else round_amount(booked * part / balance, functional)
            part_rate = _effective_rate(value, part, rate.rate)
        else:
            value, part_rate = round_amount(part * rate.rate, functional), rate.rate
        result.append(PositionPart(role=role, amount=part, debit=amount > 0, functional=value, rate=part_rate))
    return result


def contract_position_split(
    *, project_id: int | None, on: date, amount: Decimal, rate: Rate | None = None
) -> list[PositionPart]:
    """The contract-position lines of one posting for a project at `on` (one query; none without a project, when
    the whole amount takes the non-relieving side). `amount` and `rate` as in `position_split`."""
    position = ContractPosition()
    if project_id is not None:
        position = contract_positions(project_ids=[project_id], on=on)[project_id]
    return position_split(amount=amount, position=position, rate=rate)


def position_lines(
    parts: list[PositionPart],
    *,
    codes: dict[str, str],
    client_id: int | None,
    project_id: int | None,
    currency: str,
    memo: str = "Contract position",
) -> list[LineSpec]:
    """The journal lines of `parts` (codes: system role value -> account code), in `currency` when it is not the
    functional one. A part whose functional value rounds to nothing is left out (it cannot be a line)."""
    foreign = bool(currency) and currency != functional_currency()
    lines = []
    for part in parts:
        value = part.value
        if value <= 0:
            continue
        lines.append(
            LineSpec(
                account=codes[part.role.value],
                debit=value if part.debit else ZERO,
                credit=ZERO if part.debit else value,
                client_id=client_id,
                project_id=project_id,
                memo=memo,
                currency=currency if foreign else "",
                amount_currency=part.amount if foreign else None,
                rate=part.rate if foreign else None,
            )
        )
    return lines


def position_fx_difference(
    *, parts: list[PositionPart], functional_net: Decimal, debit: bool
) -> tuple[SystemAccount, Decimal, bool] | None:
    """The exchange difference of a document that posts `functional_net` (its net at its own rate) through the
    contract position on the `debit` side (a credit note) or the credit side (an invoice): the parts carry the
    relieved side at its booked value, so what is left is a realised exchange gain or loss. Returns (account
    role, amount, on the debit side) or None when there is none."""
    difference = functional_net - sum((p.value for p in parts), ZERO)
    if not difference:
        return None
    # An invoice (credit side) worth more than what it relieves is a gain (a credit); worth less, a loss (a debit).
    gain = (difference > 0) != debit
    role = SystemAccount.FX_REALISED_GAIN if gain else SystemAccount.FX_REALISED_LOSS
    return role, abs(difference), not gain


def contract_positions_net(*, projects: dict[int, int], on: date, account_codes: dict[str, str] | None = None) -> int:
    """Keep one side per contract (invariant 7) for `projects` (project id -> client id): where a project holds
    both unbilled receivable and deferred revenue, post Dr deferred / Cr unbilled for the smaller, dated the
    project's latest position date or `on`, whichever is later (entry_post moves it to the first open period).
    One grouped query; an entry per date and legal entity (the books the positions are in) only when some project
    is two-sided. Returns how many were netted."""
    rows = (
        JournalLine.objects.filter(project_id__in=list(projects), account__system_role__in=POSITION_ROLES)
        .values("project_id", "entity_id", "account__system_role")
        .annotate(fc=Sum(_SIGNED_FC), fn=Sum(F("debit") - F("credit")), last=Max("date"), currency=Max("currency"))
        .order_by()
    )
    balance: dict[tuple[int, int], dict] = {}
    for r in rows:
        entry = balance.setdefault((r["project_id"], r["entity_id"]), {"last": r["last"], "currency": r["currency"]})
        entry["last"] = max(entry["last"], r["last"])
        entry[r["account__system_role"]] = (r["fc"], r["fn"])
    by_date: dict[tuple[date, int], list[tuple[int, Decimal, ContractPosition]]] = {}
    for (project_id, entity_id), b in sorted(balance.items()):
        unbilled, unbilled_booked = b.get(SystemAccount.UNBILLED, (ZERO, ZERO))
        deferred, deferred_booked = (-x for x in b.get(SystemAccount.DEFERRED, (ZERO, ZERO)))
        both = min(unbilled, deferred)
        if both > 0:
            position = ContractPosition(unbilled, deferred, unbilled_booked, deferred_booked, b["currency"])
            by_date.setdefault((max(b["last"], on), entity_id), []).append((project_id, both, position))
    if not by_date:
        return 0
    codes = account_codes or {role: account_code_for(role) for role in POSITION_ROLES}
    memo = "Contract position netting"
    functional = functional_currency()
    for (day, entity_id), pairs in sorted(by_date.items()):
        lines = []
        for project_id, amount, position in pairs:
            client_id = projects[project_id]
            if position.currency in ("", functional):
                lines += [
                    LineSpec(codes["deferred"], debit=amount, client_id=client_id, project_id=project_id, memo=memo),
                    LineSpec(codes["unbilled"], credit=amount, client_id=client_id, project_id=project_id, memo=memo),
                ]
                continue
            lines += _net_foreign(position, amount, codes, client_id, project_id, memo)
        digest = hashlib.sha256(f"{day}:{entity_id}:{[(p, a) for p, a, _ in pairs]}".encode()).hexdigest()[:32]
        spec = EntrySpec(date=day, memo=memo, source="recognition", lines=lines, entity_id=entity_id)
        entry_post(spec=spec, key=f"revrec-net:{digest}", catch_up=True)
    return sum(len(pairs) for pairs in by_date.values())


def _net_foreign(
    position: ContractPosition, amount: Decimal, codes: dict[str, str], client_id: int, project_id: int, memo: str
) -> list[LineSpec]:
    """Netting `amount` of both sides of a foreign-currency contract: each side leaves at its booked value, the
    difference between the two is a realised exchange gain or loss (the advance and the revenue were booked at
    different rates)."""
    # Both parts relieve a side entirely within its balance, so they take booked values; the rate is never used.
    rate = Rate(currency=position.currency, quote=functional_currency(), rate=Decimal(1), date=date.min)
    debit_part = position_split(amount=amount, position=position, rate=rate)[0]
    credit_part = position_split(amount=-amount, position=position, rate=rate)[0]
    lines = position_lines(
        [debit_part, credit_part],
        codes=codes,
        client_id=client_id,
        project_id=project_id,
        currency=position.currency,
        memo=memo,
    )
    difference = debit_part.value - credit_part.value
    if difference:
        role = SystemAccount.FX_REALISED_GAIN if difference > 0 else SystemAccount.FX_REALISED_LOSS
        lines.append(
            fx_difference_line(
                codes.get(role.value) or account_code_for(role),
                currency=position.currency,
                credit=difference if difference > 0 else ZERO,
                debit=-difference if difference < 0 else ZERO,
                client_id=client_id,
                project_id=project_id,
                memo="Exchange difference on netting",
            )
        )
    return lines
