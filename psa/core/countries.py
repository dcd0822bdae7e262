"""Countries: ISO 3166-1 alpha-2 codes from `pycountry`, the EU member states, and tax-id validation by country.

Every country field stores the two-letter code (DE, GB, US). Validation of VAT ids, national tax numbers, IBANs
and BICs uses python-stdnum, which knows each country's format and check digits.
"""

import pycountry
from stdnum import bic as stdnum_bic
from stdnum import iban as stdnum_iban
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.util import get_cc_module

COUNTRIES = sorted(((c.alpha_2, c.name) for c in pycountry.countries), key=lambda c: c[1])
COUNTRY_CODES = frozenset(code for code, _ in COUNTRIES)
# The member states of the European Union by ISO code (stdnum keeps the list; Greece's VAT prefix is EL).
EU_MEMBERS = frozenset("GR" if cc == "el" else cc.upper() for cc in eu_vat.MEMBER_STATES if cc != "xi")

# The python-stdnum module of each country's national tax number, where it has one under another name than `tin`.
_TAX_NUMBER_MODULES = {"DE": "stnr", "US": "ein", "GB": "utr", "FR": "siren", "NL": "rsin"}


def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code.upper()) if code else None
    return country.name if country is not None else code


def is_eu(code: str) -> bool:
    return code.upper() in EU_MEMBERS


def vat_id_error(vat_id: str, country: str) -> str:
    """Why `vat_id` is not a valid VAT id for `country` (an empty string when it is). An EU VAT id carries its
    country's prefix (EL for Greece); other countries' numbers are checked by their own stdnum module."""
    if not vat_id:
        return ""
    country = country.upper()
    prefix = "EL" if country == "GR" else country
    compact = vat_id.replace(" ", "").replace("-", "").replace(".", "").upper()
    if (country in EU_MEMBERS or country == "GB") and not compact.startswith(prefix):
        return f"A {country_name(country)} VAT id starts with {prefix}."
    try:
        module = get_cc_module(country.lower(), "vat")
    except (ImportError, ValueError):
        module = None
    if module is None:
        return ""
    try:
        module.validate(compact)
    except StdnumError as exc:
        return f"Not a valid {country_name(country)} VAT id: {str(exc).rstrip('.')}."
    return ""


def tax_number_error(number: str, country: str) -> str:
    """Why `number` is not a valid national tax number for `country` (empty when valid or not checkable)."""
    if not number:
        return ""
    name = _TAX_NUMBER_MODULES.get(country.upper(), "tin")
    try:
        module = get_cc_module(country.lower(), name)
    except (ImportError, ValueError):
        return ""
    if module is None:
        return ""
    try:
        module.validate(number)
    except StdnumError as exc:
        return f"Not a valid {country_name(country)} tax number: {str(exc).rstrip('.')}."
    return ""


def iban_error(iban: str) -> str:
    try:
        stdnum_iban.validate(iban)
    except StdnumError as exc:
        return f"Not a valid IBAN: {str(exc).rstrip('.')}."
    return ""


def bic_error(bic: str) -> str:
    if not bic:
        return ""
    try:
        stdnum_bic.validate(bic)
    except StdnumError as exc:
        return f"Not a valid BIC: {str(exc).rstrip('.')}."
    return ""
