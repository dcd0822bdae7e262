from psa.core.roles import Role
from psa.core.ui import NavItem

MENU = [NavItem("Ledger", "ledger:entries", (Role.FINANCE,), "journal-text", order=400, group="Finance")]
