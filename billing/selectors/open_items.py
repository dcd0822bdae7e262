"""The go-live reconciliation's checks of the open items (billing.selectors.golive lists them in CHECKS):

- contract positions: Σ the imported contracts' positions at the cut-over (projects.ContractLineOpening:
  recognised - billed per contract, unbilled receivable when positive, deferred revenue when negative) = the
  unbilled receivable and the deferred revenue balances of the go-live's entity in its books at the cut-over
  (lines dated before it and the go-live's own entries, as the trial balance check reads them).
  A difference is listed by what causes it: each contract whose position in the GL (on its project) differs from
  its imported position, and the balance left on the account without a project (an opening balance that no
  contract of the file explains);
- accounts payable: the open vendor bills (functional open amounts) = the AP control account (2000) of the
  entity, today (payments on imported bills move both). A difference lists the opening AP the GL holds outside
  PSA's own bills and payments, the bills brought in at go-live, and the largest of them.

The functions return billing.selectors.golive.Check rows; that module imports this one for its CHECKS list, so
each function imports Check when it runs (the one import below the top, to break that cycle).
"""

from collections import defaultdict
from datetime import date
from decimal import Decimal

from django.db.models import F, Q, Sum

from billing.choices import VENDOR_BILL_OPEN_STATUSES
from billing.models import GoLive, VendorBill
from billing.selectors.payables import FUNCTIONAL_OPEN, ap_control
from ledger.choices import SystemAccount
from ledger.models import JournalLine
from ledger.services.accounts import account_code_for
from projects.models import ContractLineOpening
from psa.core.currency import functional_currency
from psa.core.fx import MissingRate, convert, rate_for
from psa.core.money import ZERO

GROUP_POSITIONS = "Contract positions"
GROUP_PAYABLES = "Payables"
MAX_ROWS = 50


def _imported_positions(golive: GoLive) -> dict[int, tuple[str, str, Decimal, str]]:
    """Project id -> (contract number, project code, position in the functional currency, problem) of the
    contracts brought in at this go-live (one query; a rate per foreign currency)."""
    rows = (
        ContractLineOpening.objects.filter(
            as_of=golive.cutover_date, contract_line__contract__entity_id=golive.entity_id
        )
        .values(
            project_id=F("contract_line__contract__project_id"),
            number=F("contract_line__contract__number"),
            code=F("contract_line__contract__project__code"),
            currency=F("contract_line__contract__currency"),
        )
        .annotate(opening_position=Sum(F("recognised") - F("billed")))
        .order_by("project_id")
    )
    functional = functional_currency()
    out = {}
    for r in rows:
        value, problem = r["opening_position"] or ZERO, ""
        if r["currency"] not in ("", functional):
            try:
                value = convert(amount=value, rate=rate_for(currency=r["currency"], on=golive.cutover_date))
            except MissingRate as exc:
                problem = f" ({exc.message})"
        out[r["project_id"]] = (r["number"], r["code"], value, problem)
    return out


def contract_positions_check(golive: GoLive) -> list:
    """Unbilled receivable and deferred revenue in the GL = Σ imported contract positions (module docstring)."""
    from billing.selectors.golive import Check, golive_entry_sources  # the documented cycle (module docstring)

    imported = _imported_positions(golive)
    gl: dict[tuple[str | None, int | None], Decimal] = defaultdict(lambda: ZERO)
    for r in (
        JournalLine.objects.filter(
            Q(date__lt=golive.cutover_date) | golive_entry_sources(golive),  # the books at the cut-over
            entity_id=golive.entity_id,
            account__system_role__in=(SystemAccount.UNBILLED, SystemAccount.DEFERRED),
        )
        .values("account__system_role", "project_id")
        .annotate(balance=Sum(F("debit") - F("credit")))
        .order_by()
    ):
        gl[(r["account__system_role"], r["project_id"])] = r["balance"] or ZERO
    checks = []
    for role, sign, label in (
        (SystemAccount.UNBILLED, 1, "Unbilled receivable"),
        (SystemAccount.DEFERRED, -1, "Deferred revenue"),
    ):
        expected = sum((max(sign * p[2], ZERO) for p in imported.values()), ZERO)
        actual = sum((sign * v for (r, _), v in gl.items() if r == role), ZERO)
        rows: list[str] = []
        if expected != actual:
            code = account_code_for(role)
            for project_id, (number, project_code, position, problem) in imported.items():
                want = max(sign * position, ZERO)
                have = sign * gl.get((role, project_id), ZERO)
                if want != have:
                    rows.append(f"Contract {number} (project {project_code}): imported {want:,.2f}, {code} holds "
                                f"{have:,.2f} for the project{problem}")  # fmt: skip
            others = {p for (r, p) in gl if r == role and p is not None and p not in imported}
            for project_id in sorted(others):
                if value := sign * gl[(role, project_id)]:
                    rows.append(f"Project id {project_id}: {code} holds {value:,.2f}, no contract of the go-live")
            if unassigned := sign * gl.get((role, None), ZERO):
                rows.append(f"{code} holds {unassigned:,.2f} without a project: an opening balance no imported "
                            "contract explains")  # fmt: skip
        checks.append(
            Check(
                name=f"{label} ({account_code_for(role)}) = Σ contract positions",
                expected=expected,
                actual=actual,
                rows=rows[:MAX_ROWS],
                group=GROUP_POSITIONS,
            )
        )
    return checks


def ap_check(golive: GoLive) -> list:
    """Open vendor bills = the AP control account of the go-live's entity (module docstring)."""
    from billing.selectors.golive import Check  # the documented cycle (module docstring)

    today = max(date.today(), golive.cutover_date)
    control = ap_control(entity_id=golive.entity_id, at=today)
    rows: list[str] = []
    if not control.reconciled:
        code = account_code_for(SystemAccount.PAYABLE)
        psa_sources = Q(entry__source__startswith="vendor-bill:") | Q(entry__source__startswith="vendor-payment:")
        outside = (
            JournalLine.objects.filter(
                entity_id=golive.entity_id, date__lte=today, account__system_role=SystemAccount.PAYABLE
            )
            .exclude(psa_sources)
            .aggregate(v=Sum(F("credit") - F("debit")))["v"]
            or ZERO
        )
        opening = VendorBill.objects.filter(
            entity_id=golive.entity_id, opening=True, status__in=VENDOR_BILL_OPEN_STATUSES
        ).annotate(open_functional=FUNCTIONAL_OPEN)
        total = sum((b.open_functional for b in opening), ZERO)
        rows.append(f"{code} holds {outside:,.2f} outside PSA's own bills and payments (the opening balance)")
        rows.append(f"Open bills brought in at go-live: {total:,.2f} ({len(opening)} bills)")
        for bill in sorted(opening, key=lambda b: -b.open_functional)[: MAX_ROWS - 2]:
            rows.append(
                f"Bill {bill.number} of vendor {bill.vendor_id} of {bill.bill_date}: {bill.open_functional:,.2f} open"
            )
    return [
        Check(
            name=f"Accounts payable ({account_code_for(SystemAccount.PAYABLE)}) = open vendor bills",
            expected=control.open_bills,
            actual=control.ledger,
            rows=rows,
            group=GROUP_PAYABLES,
        )
    ]
