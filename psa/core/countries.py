"""Countries: ISO 3166-1 alpha-2 codes and names from `pycountry`, the EU member states, and the checks of VAT
ids, national tax numbers, IBANs and BICs with python-stdnum (each country's format and check digits).

Every country field stores the two-letter code (DE, GB, US). Greece is GR as a country and EL as a VAT prefix.
"""

import pycountry
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.util import get_cc_module

COUNTRIES: list[tuple[str, str]] = sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda c: c[1])
COUNTRY_CODES: frozenset[str] = frozenset(code for code, _ in COUNTRIES)

# VAT prefix -> ISO country where the two differ (Greece).
_PREFIX_COUNTRY = {"EL": "GR"}
_COUNTRY_PREFIX = {v: k for k, v in _PREFIX_COUNTRY.items()}

# The member states of the European Union (stdnum keeps the list; XI, Northern Ireland's goods prefix, is not one).
EU_MEMBER_STATES: frozenset[str] = frozenset(
    _PREFIX_COUNTRY.get(cc.upper(), cc.upper()) for cc in eu_vat.MEMBER_STATES if cc.upper() != "XI"
)

# The python-stdnum module of each country's national tax number, where it has one under another name than `tin`.
_TAX_NUMBER_MODULES = {"DE": "stnr", "US": "ein", "GB": "utr", "FR": "siren", "NL": "rsin"}


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code.upper()) if code else None
    return country.name if country is not None else code


def is_eu(country: str) -> bool:
    return (country or "").upper() in EU_MEMBER_STATES


def vat_prefix_country(vat_id: str) -> str:
    """The ISO country a VAT id's two-letter prefix names ("EL..." -> "GR"), or "" when it has none."""
    prefix = (vat_id or "").strip()[:2].upper()
    if len(prefix) != 2 or not prefix.isalpha():
        return ""
    country = _PREFIX_COUNTRY.get(prefix, prefix)
    return country if country in COUNTRY_CODES else ""


def _module(country: str, name: str):
    try:
        return get_cc_module(country.lower(), name)
    except (ImportError, ValueError):
        return None


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
    module = _module(country, "vat") if country else None
    if module is None:
        return None
    try:
        module.validate(vat_id)
    except StdnumError as exc:
        return f"{vat_id} is not a valid {country} VAT id: {str(exc).rstrip('.')}."
    return None


def tax_number_error(number: str, country: str) -> str:
    """Why `number` is not a valid national tax number for `country` (empty when valid or not checkable)."""
    if not number:
        return ""
    module = _module(country, _TAX_NUMBER_MODULES.get(country.upper(), "tin"))
    return _error(module, number, f"{country_name(country)} tax number") if module is not None else ""


def _error(module, value: str, what: str) -> str:
    """Why `value` fails `module`'s check, as "Not a valid <what>: <reason>." (empty when it passes)."""
    try:
        module.validate(value)
    except StdnumError as exc:
        return f"Not a valid {what}: {str(exc).rstrip('.')}."
    return ""


def iban_error(iban: str) -> str:
    return _error(stdnum_iban, iban, "IBAN")


def bic_error(bic: str) -> str:
    return _error(stdnum_bic, bic, "BIC") if bic else ""
