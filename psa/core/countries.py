"""Countries and VAT ids: ISO 3166-1 alpha-2 codes, the EU member states, and VAT id validation.

The lists come from python-stdnum (a direct dependency), so there is no hand-kept copy to go stale:
- the ISO 3166-1 alpha-2 codes are the list stdnum validates ISINs with (`stdnum.isin`); stdnum carries no
  country names, so a choice shows its code;
- the EU member states are `stdnum.eu.vat.MEMBER_STATES` (VIES's list), without "XI" (Northern Ireland, a VAT
  prefix for goods only, not a country) and with Greece under its ISO code GR (its VAT prefix is EL).
  The United Kingdom (GB) is not a member state.

A VAT id is validated with stdnum's module for its prefix: `stdnum.eu.vat` for the EU (check digits of each member
state), `stdnum.gb.vat` for GB, and stdnum's per-country module (`stdnum.util.get_cc_module(cc, "vat")`) elsewhere
when it has one; a country stdnum knows no VAT format for is accepted as entered.
"""

from stdnum import isin
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.util import get_cc_module

COUNTRY_CODES: tuple[str, ...] = tuple(sorted(isin._iso_3116_1_country_codes))
COUNTRIES: list[tuple[str, str]] = [(code, code) for code in COUNTRY_CODES]

# VAT prefix -> ISO country where the two differ (Greece).
_PREFIX_COUNTRY = {"EL": "GR"}
_COUNTRY_PREFIX = {v: k for k, v in _PREFIX_COUNTRY.items()}

EU_MEMBER_STATES: frozenset[str] = frozenset(
    _PREFIX_COUNTRY.get(cc.upper(), cc.upper()) for cc in eu_vat.MEMBER_STATES if cc.upper() != "XI"
)


def is_eu(country: str) -> bool:
    return (country or "").upper() in EU_MEMBER_STATES


def vat_prefix_country(vat_id: str) -> str:
    """The ISO country a VAT id's two-letter prefix names ("EL..." -> "GR"), or "" when it has none."""
    prefix = (vat_id or "").strip()[:2].upper()
    if len(prefix) != 2 or not prefix.isalpha():
        return ""
    country = _PREFIX_COUNTRY.get(prefix, prefix)
    return country if country in COUNTRY_CODES else ""


def vat_id_error(country: str, vat_id: str) -> str | None:
    """Why `vat_id` is not a valid VAT id for a party in `country` (None when it is, or is empty).

    In the EU the id must carry the country's prefix (EL for Greece) and pass stdnum's check for that member
    state; in GB stdnum's GB check (with or without the GB prefix); elsewhere the country's stdnum VAT module
    when there is one."""
    vat_id = (vat_id or "").strip()
    country = (country or "").upper()
    if not vat_id:
        return None
    if is_eu(country):
        prefix = _COUNTRY_PREFIX.get(country, country)
        if vat_id[:2].upper() != prefix:
            return f"An EU VAT id of a party in {country} starts with {prefix} (this one starts with {vat_id[:2]!r})."
        try:
            eu_vat.validate(vat_id)
        except StdnumError as exc:
            return f"{vat_id} is not a valid {country} VAT id: {str(exc).rstrip('.')}."
        return None
    if not country:
        return None
    try:
        module = get_cc_module(country.lower(), "vat")
    except ImportError:
        module = None
    if module is None:
        return None
    try:
        module.validate(vat_id)
    except StdnumError as exc:
        return f"{vat_id} is not a valid {country} VAT id: {str(exc).rstrip('.')}."
    return None
