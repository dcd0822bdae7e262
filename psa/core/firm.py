"""The firm's own details: every PSA_FIRM_* setting, declared once here with what it is for.

These settings seed the firm's first legal entity (psa.core.entities.entity_default) and are not read for a
document after that: the seller printed on an invoice is its legal entity, edited on the entity's page. An
invoice cannot be issued while a required detail of its entity is empty (`seller_details` refuses with
`SellerDetailsMissing`, 409, naming each one), so no legal document prints a blank or borrowed seller.
Production has no default seller: an unset setting is empty.

The demo firm (Northwind Consulting with the standard example IBAN) exists only when it is asked for
explicitly: `PSA_DEMO_FIRM=true` (set by `make install`/`make run`, the benchmarks and the test fixtures) fills
every PSA_FIRM_* setting left unset with the `demo` value below. A value set in the environment always wins.

This module is read by psa/settings.py, so it imports nothing from Django but the lazy settings object.
"""

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class FirmSetting:
    name: str  # the Django setting and its environment variable
    key: str  # the key in an invoice's seller snapshot
    doc: str
    required: bool  # needed to issue an invoice
    demo: str  # the demo firm's value, used only with PSA_DEMO_FIRM=true


FIRM_SETTINGS: tuple[FirmSetting, ...] = (
    FirmSetting(
        "PSA_FIRM_NAME",
        "name",
        "The firm's trading name: page headers, e-mails, the ledger export. Defaults to the legal name.",
        False,
        "Northwind Consulting",
    ),
    FirmSetting(
        "PSA_FIRM_LEGAL_NAME",
        "legal_name",
        "Seller legal name on invoices (EN 16931 BT-27) and the account holder of the IBAN.",
        True,
        "Northwind Consulting GmbH",
    ),
    FirmSetting(
        "PSA_FIRM_ADDRESS",
        "address",
        "Seller postal address (BG-5); lines separated by a newline or a literal \\n.",
        True,
        "12 Harbour Street\n10115 Berlin",
    ),
    FirmSetting("PSA_FIRM_COUNTRY", "country", "Seller country, ISO 3166-1 alpha-2 (BT-40), e.g. DE.", True, "DE"),
    FirmSetting("PSA_FIRM_TAX_ID", "tax_id", "Seller VAT identifier (BT-31), e.g. DE123456789.", True, "DE123456788"),
    FirmSetting(
        "PSA_FIRM_EMAIL",
        "email",
        "Seller contact e-mail printed on invoices (BT-43).",
        False,
        "billing@northwind.example",
    ),
    FirmSetting("PSA_FIRM_IBAN", "iban", "The account clients pay into (BT-84).", True, "DE89370400440532013000"),
    FirmSetting("PSA_FIRM_BIC", "bic", "BIC of that account (BT-86).", False, "COBADEFFXXX"),
    FirmSetting("PSA_FIRM_BANK", "bank", "Name of the bank holding that account.", False, "Commerzbank Berlin"),
)


def firm_settings_read(env: Mapping[str, str], *, demo: bool) -> dict[str, str]:
    """Every PSA_FIRM_* value from the environment `env`; with `demo`, the demo firm's value where unset."""
    values = {}
    for s in FIRM_SETTINGS:
        value = env.get(s.name, "") or (s.demo if demo else "")
        values[s.name] = value.replace("\\n", "\n")
    values["PSA_FIRM_NAME"] = values["PSA_FIRM_NAME"] or values["PSA_FIRM_LEGAL_NAME"] or "PSA"
    return values
