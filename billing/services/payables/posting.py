"""The ledger entry of a posted vendor bill (DESIGN.md section 10), through ledger.services.entry_post, and the
re-bill amounts its re-billable lines carry to the billing runs.

Per line: project cost -> Dr Cost of services; re-billable -> Dr Re-billable costs; subcontractor hours -> Dr
Accrued subcontractor costs (the month-end cost run accrued the hours at the vendor's rate; the bill clears it);
overhead -> Dr the line's expense account. Project lines carry the project and client dimensions. Input VAT
charged by the vendor -> Dr Input VAT. Reverse charge: Dr Input VAT / Cr Reverse-charge VAT payable for the
self-assessed tax. Cr Accounts payable for the gross (what the vendor is owed).

Currency: the bill converts at the rate of its bill date (a missing rate refuses the approval). AP = convert(gross)
and input VAT = convert(tax); the lines share the rest (AP - input VAT) in proportion to their net, the last taking
the remainder, so the entry balances to the cent; every line keeps the bill's currency and amount.
Source key: "vendor-bill:<id>", on the bill's entity, dated the bill date (caught up into the first open period
when that month is closed).
"""

from decimal import Decimal

from billing.choices import PurchaseTax, VendorBillLineKind
from billing.models import VendorBill, VendorBillLine
from ledger.choices import SystemAccount
from ledger.services import EntrySpec, account_code_for
from ledger.services.posting import LineSpec, fx_line
from projects.choices import RebillPolicy
from projects.models import ExpensePolicy
from psa.core.currency import functional_currency
from psa.core.fx import Rate, convert, rate_for
from psa.core.money import ZERO, allocate, round_amount

K = VendorBillLineKind
LINE_ROLE = {
    K.PROJECT_COST: SystemAccount.COST_OF_SERVICES,
    K.REBILLABLE: SystemAccount.REBILLABLE_COSTS,
    K.SUBCONTRACT: SystemAccount.SUBCONTRACT_ACCRUAL,
}


def source_key(bill: VendorBill) -> str:
    return f"vendor-bill:{bill.pk}"


def bill_rate(bill: VendorBill) -> Rate:
    """The rate of the bill's currency on its bill date (MissingRate, a 409 naming both, when there is none)."""
    return rate_for(currency=bill.currency, on=bill.bill_date)


def line_functional(bill: VendorBill, lines: list[VendorBillLine], rate: Rate) -> list[Decimal]:
    """Each line's net in the functional currency: shares of convert(gross) - convert(tax) by net."""
    net = convert(amount=bill.gross_total, rate=rate) - convert(amount=bill.tax_total, rate=rate)
    return allocate(net, [ln.net_amount for ln in lines])


def vendor_bill_spec(bill: VendorBill, lines: list[VendorBillLine], rate: Rate) -> EntrySpec:
    """The entry of a bill on approval (rules in the module docstring)."""
    memo = f"{bill.vendor.name} bill {bill.number}"
    out: list[LineSpec] = []
    for line, value in zip(lines, line_functional(bill, lines, rate), strict=True):
        if line.kind == K.OVERHEAD:
            assert line.ledger_account is not None  # a constraint holds it
            code, client_id, project_id = line.ledger_account.code, None, None
        else:
            assert line.project is not None  # a constraint holds it
            code = account_code_for(LINE_ROLE[K(line.kind)])
            client_id, project_id = line.project.account_id, line.project_id
        out.append(
            fx_line(
                code,
                rate=rate,
                debit=line.net_amount,
                functional=value,
                client_id=client_id,
                project_id=project_id,
                memo=line.description[:200],
            )
        )
    input_vat = account_code_for(SystemAccount.INPUT_VAT)
    if bill.tax_total > 0:
        out.append(fx_line(input_vat, rate=rate, debit=bill.tax_total, memo=f"Input VAT {memo}"))
    if bill.purchase_tax == PurchaseTax.REVERSE_CHARGE and bill.reverse_charge_tax > 0:
        rc_memo = f"Reverse charge {memo}"
        out.append(fx_line(input_vat, rate=rate, debit=bill.reverse_charge_tax, memo=rc_memo))
        out.append(
            fx_line(
                account_code_for(SystemAccount.REVERSE_CHARGE_VAT),
                rate=rate,
                credit=bill.reverse_charge_tax,
                memo=rc_memo,
            )
        )
    out.append(fx_line(account_code_for(SystemAccount.PAYABLE), rate=rate, credit=bill.gross_total, memo=memo))
    return EntrySpec(
        date=bill.bill_date, memo=memo, lines=tuple(out), source=source_key(bill), entity_id=bill.entity_id
    )


def rebill_amount(line: VendorBillLine, rate: Rate) -> Decimal | None:
    """What the client is billed for a re-billable line, in the contract's currency: the net at cost or with the
    contract line's markup (projects.models.ExpensePolicy; "not re-billed" -> None), converted at the bill
    date's rates through the functional currency when the currencies differ."""
    assert line.contract_line is not None
    policy = ExpensePolicy.objects.filter(contract_line_id=line.contract_line_id).first()
    if policy is not None and policy.policy == RebillPolicy.NONE:
        return None
    base = line.net_amount
    if policy is not None and policy.policy == RebillPolicy.MARKUP:
        base = base * (Decimal(100) + policy.markup_percent) / Decimal(100)
    target = line.contract_line.contract.currency
    if target == rate.currency:
        return round_amount(base, target)
    functional = base * rate.rate
    if target == functional_currency():
        return round_amount(functional, target)
    into = rate_for(currency=target, on=line.bill.bill_date)
    return round_amount(functional / into.rate, target) if into.rate else ZERO
