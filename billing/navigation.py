from psa.core.roles import Role
from psa.core.ui import NavItem

F = (Role.FINANCE, Role.ADMIN)

MENU = [
    NavItem("Billing", "billing:run-list", F, "lightning-charge", order=500),
    NavItem("Invoices", "billing:invoice-list", F, "receipt", order=510),
    NavItem("Payments", "billing:payment-list", F, "cash-coin", order=520),
    NavItem("AR", "billing:ar", F, "hourglass-split", order=530),
    NavItem("My invoices", "billing:portal", (Role.CLIENT,), "receipt", order=500),
]
