from psa.core.roles import Role
from psa.core.ui import NavItem

MENU = [
    NavItem("Ledger", "ledger:entries", (Role.FINANCE,), "journal-text", order=400, group="Finance"),
    NavItem(
        "Exchange rates", "ledger:exchange_rates", (Role.FINANCE,), "currency-exchange", order=410, group="Finance"
    ),
]
