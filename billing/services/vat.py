"""VAT determination: which EN 16931 category and rate an invoice carries, and why.

`vat_determine` is a pure function of the case (seller country and VAT id, buyer country and VAT id, business or
consumer, what is supplied, the tax point) and the dated rates (`RateTable`); `invoice_vat_determine` is the
service wrapper the drafting code calls with an account and the draft's seller snapshot, honouring the account's
explicit override (`AccountTax`). The result names the rule applied (`rule`) and says why in one sentence
(`why`); the invoice keeps both, and its page shows them as "Why this VAT".

The rules (services only; the firm sells services):
- buyer in the seller's country, business or consumer: the seller country's standard rate at the tax point (S);
- seller in the EU, buyer a business in another member state: reverse charge (AE, 0 %, "Reverse charge",
  VATEX-EU-AE; Art. 44 and 196 VAT Directive). The buyer's VAT id is required and must be valid for its country:
  without it the draft is refused, naming the account's tax id;
- seller in the EU, buyer a business outside the EU (GB included): not subject to VAT in the seller's country
  (O, "Not subject to VAT", VATEX-EU-O; the place of supply is the buyer's country, Art. 44);
- seller outside the EU with a VAT system (GB, or any country with a rate in `VatRate`), buyer a business in
  another country: outside the scope of the seller's VAT (O), by the same place-of-supply rule;
- buyer a consumer in another country: the seller's domestic rate (the general B2C rule, Art. 45: the place of
  supply is where the supplier is established). Not modelled: the special place-of-supply rules for some B2C
  services (electronic services, Art. 58, which are taxed in the consumer's country and declared through the
  One-Stop Shop; services connected with land, events). An invoice under one of those would carry the seller's
  rate here, so a firm that makes such supplies sets an account override with its reason;
- a seller in a country without VAT rates (a US entity: US sales tax is not computed): not subject (O).
Zero-rated (Z) and exempt (E) supplies are not decided by rules: an account override with a fixed category and a
reason carries them.

The tax point (the date whose rate applies) is the end of the invoice's service period when it has one, else the
issue date. For services the chargeable event is the supply (Art. 63); a service billed per period is supplied
when the period ends (Art. 64(1)), so a rate change between two periods gives each invoice the rate of its own
period. The period end is also known when the draft is built, so the draft shows the figures the issued invoice
will carry, whatever day it is issued; the issue date is used only for a document without a service period (it is
not known yet for a draft: today is used then, and issuing re-checks the determination).
"""

from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from billing.choices import SupplyKind, TaxKind, VatRateKind
from billing.models import AccountTax, TaxCategory, VatRate
from billing.services._common import require_finance
from crm.models import Account
from psa.core.audit import audit_record
from psa.core.countries import is_eu, vat_id_error
from psa.core.exceptions import NotFoundError, ValidationFailed

ZERO_RATE = Decimal("0.00")

REVERSE_CHARGE_REASON = "Reverse charge"
REVERSE_CHARGE_CODE = "VATEX-EU-AE"
NOT_SUBJECT_REASON = "Not subject to VAT"
NOT_SUBJECT_CODE = "VATEX-EU-O"


class VatRule:
    """The rule codes stored on an invoice (`Invoice.tax_rule`)."""

    DOMESTIC = "domestic"
    EU_REVERSE_CHARGE = "eu-b2b-reverse-charge"
    OUTSIDE_EU_B2B = "eu-b2b-outside-eu"
    OUTSIDE_SCOPE_B2B = "b2b-outside-seller-scope"
    B2C_CROSS_BORDER = "b2c-cross-border"
    SELLER_WITHOUT_VAT = "seller-without-vat"
    SELLER_UNKNOWN = "seller-not-configured"
    OVERRIDE = "account-override"


@dataclass(frozen=True)
class VatCase:
    seller_country: str
    seller_vat_id: str
    buyer_country: str
    buyer_vat_id: str
    buyer_is_business: bool
    tax_point: date
    supply: str = SupplyKind.SERVICES
    buyer_name: str = "the buyer"


@dataclass(frozen=True)
class Determination:
    kind: str
    rate: Decimal
    rule: str
    why: str
    exemption_reason: str = ""
    exemption_code: str = ""


class RateTable:
    """The dated VAT rates in memory (one small table, read once per draft or once per billing run)."""

    def __init__(self, rows: Iterable[tuple[str, str, date, Decimal]]) -> None:
        self._rates: dict[tuple[str, str], list[tuple[date, Decimal]]] = {}
        for country, kind, valid_from, rate in rows:
            self._rates.setdefault((country, kind), []).append((valid_from, rate))
        for dated in self._rates.values():
            dated.sort()
        self.categories: dict[str, TaxCategory] = {}  # by code: a billing run reads each category once

    @classmethod
    def load(cls) -> "RateTable":
        return cls(VatRate.objects.values_list("country", "kind", "valid_from", "rate"))

    def has_country(self, country: str) -> bool:
        return (country, VatRateKind.STANDARD) in self._rates

    def standard(self, country: str, on: date) -> Decimal | None:
        """The country's standard rate on `on` (the row with the latest start on or before it), None if none."""
        dated = self._rates.get((country, VatRateKind.STANDARD), [])
        i = bisect_right(dated, (on, Decimal("Infinity")))
        return dated[i - 1][1] if i else None

    def steady(self, country: str, since: date, through: date) -> bool:
        """True when the country's standard rate does not change after `since` up to `through`."""
        dated = self._rates.get((country, VatRateKind.STANDARD), [])
        return not any(since < valid_from <= through for valid_from, _ in dated)


def _pct(rate: Decimal) -> str:
    text = f"{rate:f}"
    return (text.rstrip("0").rstrip(".") if "." in text else text) + " %"


def _standard(case: VatCase, rates: RateTable) -> Decimal:
    rate = rates.standard(case.seller_country, case.tax_point)
    if rate is None:
        raise ValidationFailed(
            f"No standard VAT rate for {case.seller_country} on {case.tax_point:%Y-%m-%d} (the tax point): add "
            "one in Admin → VAT rates.",
            fields={"vat_rate": [f"Missing for {case.seller_country} on {case.tax_point:%Y-%m-%d}."]},
        )
    return rate


def vat_determine(case: VatCase, *, rates: RateTable) -> Determination:
    """The category, rate, exemption reason and rule of one case (the rules are in the module docstring).
    Refuses (ValidationFailed, naming the field) a seller or buyer without a country, and an intra-EU B2B supply
    whose buyer has no valid VAT id."""
    seller, buyer = case.seller_country.upper(), case.buyer_country.upper()
    if case.supply != SupplyKind.SERVICES:
        raise ValidationFailed(
            f"Only the VAT rules for services are modelled (not {case.supply}).", fields={"supply": ["Services."]}
        )
    if not seller:
        raise ValidationFailed(
            "The seller has no country, so its VAT cannot be determined: set the seller's country.",
            fields={"seller.country": ["Required to determine VAT."]},
        )
    if not buyer:
        raise ValidationFailed(
            f"{case.buyer_name} has no country, so the VAT of its invoices cannot be determined: set the account's "
            "country.",
            fields={"account.country": ["Required to determine VAT."]},
        )
    party = "a business" if case.buyer_is_business else "a consumer"
    opening = f"Seller in {seller}, buyer {party} in {buyer}"
    if not is_eu(seller) and not rates.has_country(seller):
        return Determination(
            TaxKind.NOT_SUBJECT,
            ZERO_RATE,
            VatRule.SELLER_WITHOUT_VAT,
            f"{opening}: no VAT rate is kept for {seller} (sales taxes there are not computed), so the invoice is "
            "not subject to VAT.",
            NOT_SUBJECT_REASON,
            NOT_SUBJECT_CODE,
        )
    if buyer == seller:
        rate = _standard(case, rates)
        return Determination(
            TaxKind.STANDARD,
            rate,
            VatRule.DOMESTIC,
            f"{opening}: domestic supply of services, {seller} standard rate {_pct(rate)} at the tax point.",
        )
    if not case.buyer_is_business:
        rate = _standard(case, rates)
        return Determination(
            TaxKind.STANDARD,
            rate,
            VatRule.B2C_CROSS_BORDER,
            f"{opening}: a service to a consumer is taxed where the seller is (Art. 45 VAT Directive), {seller} "
            f"standard rate {_pct(rate)} at the tax point.",
        )
    if is_eu(seller) and is_eu(buyer):
        vat_id = case.buyer_vat_id.strip()
        problem = "has no VAT id" if not vat_id else vat_id_error(buyer, vat_id)
        if problem:
            detail = problem if vat_id else f"{case.buyer_name} has no VAT id (the account's tax id is empty)"
            raise ValidationFailed(
                f"An intra-EU B2B service is reverse charged and needs the buyer's VAT id: {detail}. Set the "
                f"account's tax id (a {buyer} VAT id), or mark {case.buyer_name} as a consumer.",
                fields={"account.tax_id": [f"A valid {buyer} VAT id is required for reverse charge."]},
            )
        return Determination(
            TaxKind.REVERSE_CHARGE,
            ZERO_RATE,
            VatRule.EU_REVERSE_CHARGE,
            f"{opening} with VAT id {vat_id}: intra-EU B2B service, reverse charge (Art. 196 VAT Directive); the "
            "buyer accounts for the VAT.",
            REVERSE_CHARGE_REASON,
            REVERSE_CHARGE_CODE,
        )
    if is_eu(seller):
        return Determination(
            TaxKind.NOT_SUBJECT,
            ZERO_RATE,
            VatRule.OUTSIDE_EU_B2B,
            f"{opening}: B2B service to a buyer outside the EU, supplied where the buyer is (Art. 44 VAT "
            f"Directive), so not subject to {seller} VAT.",
            NOT_SUBJECT_REASON,
            NOT_SUBJECT_CODE,
        )
    scope = "UK" if seller == "GB" else seller
    return Determination(
        TaxKind.NOT_SUBJECT,
        ZERO_RATE,
        VatRule.OUTSIDE_SCOPE_B2B,
        f"{opening}: B2B service supplied where the buyer is (place of supply rules), so outside the scope of "
        f"{scope} VAT.",
        NOT_SUBJECT_REASON,
        NOT_SUBJECT_CODE,
    )


def tax_point(*, period_end: date | None, issue_date: date | None = None) -> date:
    """The date whose rate applies: the service period's end, else the issue date, else today (an unissued
    draft without a period). Why: see the module docstring."""
    return period_end or issue_date or timezone.localdate()


# --- categories -------------------------------------------------------------------------------------------
_KIND_NAMES: dict[str, str] = {
    TaxKind.REVERSE_CHARGE: "Reverse charge",
    TaxKind.NOT_SUBJECT: "Not subject to VAT",
    TaxKind.ZERO: "Zero rated",
    TaxKind.EXEMPT: "Exempt",
}


def category_code(kind: str, rate: Decimal, exemption_code: str = "") -> str:
    """ "S19" for a 19 % standard rate ("S5.5" for 5.5 %); the kind's code for a 0 % category ("AE", "O"), with
    its VATEX code when it has one that is not the kind's own ("E-VATEX-EU-132")."""
    if kind == TaxKind.STANDARD:
        return f"S{_pct(rate).removesuffix(' %')}"
    if exemption_code and exemption_code != f"VATEX-EU-{kind}":
        return f"{kind}-{exemption_code}"[:20]
    return str(kind)


def category_for(determination: Determination) -> TaxCategory:
    """The tax category of a determination, created the first time a (kind, rate) is needed. Invoice totals are
    kept per category on the summed basis (EN 16931 BR-CO-17), so one category per (kind, rate, reason)."""
    return _category_get_or_create(determination)[0]


def _category_get_or_create(determination: Determination) -> tuple[TaxCategory, bool]:
    d = determination
    code = category_code(d.kind, d.rate, d.exemption_code)
    name = f"Standard rate {_pct(d.rate)}" if d.kind == TaxKind.STANDARD else _KIND_NAMES.get(d.kind, d.kind)
    category, created = TaxCategory.objects.get_or_create(
        code=code,
        defaults={
            "name": name,
            "kind": d.kind,
            "rate": d.rate,
            "exemption_reason": d.exemption_reason,
            "exemption_code": d.exemption_code,
        },
    )
    if not created and (category.kind, category.rate) != (d.kind, d.rate):
        raise ValidationFailed(
            f"Tax category {code} exists with kind {category.kind} and rate {category.rate}, not {d.kind} "
            f"{d.rate}: correct it in Admin → Tax categories.",
            fields={"tax_category": [f"{code} does not match its code."]},
        )
    return category, created


@dataclass(frozen=True)
class InvoiceVat:
    """What a draft takes from the determination: its category, the rule and the sentence."""

    category: TaxCategory
    rule: str
    why: str


def override_why(category: TaxCategory, reason: str) -> str:
    return f"Account override to {category.name} ({category.code}): {reason}"


def invoice_vat_determine(
    *,
    account: Account,
    seller: dict,
    period_end: date | None,
    issue_date: date | None = None,
    rates: RateTable | None = None,
    override: tuple[TaxCategory, str] | bool | None = True,
) -> InvoiceVat:
    """The VAT of a draft for `account` from `seller` (the draft's seller snapshot: `country`, `tax_id`), at the
    tax point of its service period. An account override (category and reason) wins over the rules; pass
    `override` when it is already known (a billing run reads it with the contract; None: the account has none),
    leave it True to read it. `rates`: the rate table when the caller holds one (a run reads it once)."""
    if override is True:
        own = AccountTax.objects.select_related("tax_category").filter(account_id=account.pk).first()
        override = (own.tax_category, own.reason) if own is not None else None
    if override:
        category, reason = override
        return InvoiceVat(category=category, rule=VatRule.OVERRIDE, why=override_why(category, reason))
    if not seller.get("country"):
        # A draft may be made before the firm's seller details are configured (issuing refuses until they are);
        # its VAT is provisional and determined again, for the seller that issues it, at issue.
        category = category_for(
            Determination(TaxKind.NOT_SUBJECT, ZERO_RATE, "", "", NOT_SUBJECT_REASON, NOT_SUBJECT_CODE)
        )
        return InvoiceVat(
            category=category,
            rule=VatRule.SELLER_UNKNOWN,
            why="The seller's country is not configured yet: no VAT is shown on this draft; it is determined for "
            "the seller when the invoice is issued.",
        )
    case = VatCase(
        seller_country=str(seller.get("country", "")),
        seller_vat_id=str(seller.get("tax_id", "")),
        buyer_country=account.country,
        buyer_vat_id=account.tax_id,
        buyer_is_business=account.is_business,
        tax_point=tax_point(period_end=period_end, issue_date=issue_date),
        buyer_name=str(account),
    )
    rates = rates or RateTable.load()
    determination = vat_determine(case, rates=rates)
    code = category_code(determination.kind, determination.rate, determination.exemption_code)
    found = rates.categories.get(code)
    if found is None:
        found, created = _category_get_or_create(determination)
        if not created:  # one created now may still be rolled back with its draft: read it again next time
            rates.categories[code] = found
    return InvoiceVat(category=found, rule=determination.rule, why=determination.why)


# --- account override ---------------------------------------------------------------------------------------
@transaction.atomic
def account_tax_override_set(*, account_id: int, category_code: str, reason: str, by: User | None) -> AccountTax:
    """Make every new invoice of the account carry the category `category_code` instead of the rules' result.
    The reason is required (it is shown on each invoice as "why this VAT"); the change is audited and kept in the
    history. Issued invoices keep what they carry."""
    require_finance(by)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(
            "An override of the VAT rules needs its reason.", fields={"reason": ["Say why the rules do not apply."]}
        )
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        raise NotFoundError(f"No account with id {account_id}.")
    category = TaxCategory.objects.filter(code=category_code, is_active=True).first()
    if category is None:
        raise ValidationFailed(
            f"No active tax category {category_code!r}.", fields={"tax_category": ["Pick an active category."]}
        )
    if category.kind in (TaxKind.EXEMPT, TaxKind.REVERSE_CHARGE, TaxKind.NOT_SUBJECT) and not category.exemption_reason:
        raise ValidationFailed(
            f"Category {category.code} is {category.get_kind_display().lower()} and has no exemption reason, which "
            "the e-invoice requires: add one to the category first.",
            fields={"tax_category": ["Needs an exemption reason."]},
        )
    own, _ = AccountTax.objects.update_or_create(
        account=account,
        defaults={"tax_category": category, "reason": reason[:300], "set_by": by if by and by.pk else None},
    )
    audit_record(
        actor=by,
        action="billing.account_tax_override",
        obj=account,
        summary=f"VAT override for {account.name}: {category.code} — {reason}",
        data={"tax_category": category.code, "reason": reason},
    )
    return own


@transaction.atomic
def account_tax_override_clear(*, account_id: int, by: User | None, reason: str = "") -> None:
    """Let the VAT rules decide again for the account (audited)."""
    require_finance(by)
    deleted, _ = AccountTax.objects.filter(account_id=account_id).delete()
    if deleted:
        audit_record(
            actor=by,
            action="billing.account_tax_override_clear",
            object_type="crm.account",
            object_id=account_id,
            summary=f"VAT override removed{': ' + reason if reason else ''}",
        )


# --- seeded rates ---------------------------------------------------------------------------------------------
# Standard rates in force on 2025-01-01 (European Commission, "VAT rates applied in the Member States", and HMRC
# for GB). Germany's temporary 16 % (2020-07-01 to 2020-12-31) is kept so that older periods get their rate.
DEFAULT_RATES: tuple[tuple[str, str, str, str], ...] = (
    ("DE", "19.00", "2007-01-01", "UStG § 12 (1)"),
    ("DE", "16.00", "2020-07-01", "Second Corona Tax Assistance Act (temporary)"),
    ("DE", "19.00", "2021-01-01", "UStG § 12 (1)"),
    ("FR", "20.00", "2014-01-01", "CGI art. 278"),
    ("GB", "20.00", "2011-01-04", "VATA 1994 s. 2"),
    ("NL", "21.00", "2012-10-01", "Wet OB 1968 art. 9"),
    ("AT", "20.00", "2016-01-01", "UStG 1994 § 10"),
    ("BE", "21.00", "1996-01-01", "WBTW art. 37"),
    ("IT", "22.00", "2013-10-01", "DPR 633/72 art. 16"),
    ("ES", "21.00", "2012-09-01", "Ley 37/1992 art. 90"),
    ("IE", "23.00", "2021-03-01", "VATCA 2010 s. 46"),
)


def vat_rates_ensure_default() -> int:
    """Create the seeded standard rates that are missing (migration 0015 seeds them; a flushed test database or a
    fresh demo may not have them). Returns how many were created."""
    have = set(VatRate.objects.values_list("country", "kind", "valid_from"))
    new = [
        VatRate(country=c, kind=VatRateKind.STANDARD, rate=Decimal(r), valid_from=date.fromisoformat(f), note=n)
        for c, r, f, n in DEFAULT_RATES
        if (c, VatRateKind.STANDARD, date.fromisoformat(f)) not in have
    ]
    VatRate.objects.bulk_create(new)
    return len(new)
