from psa.core.roles import Role
from psa.core.ui import NavItem

F = (Role.FINANCE, Role.ADMIN)

MENU = [
    NavItem("Billing", "billing:run-list", F, "lightning-charge", order=500, group="Finance"),
    NavItem("Invoices", "billing:invoice-list", F, "receipt", order=510, group="Finance"),
    NavItem("Payments", "billing:payment-list", F, "cash-coin", order=520, group="Finance"),
    NavItem("AR", "billing:ar", F, "hourglass-split", order=530, group="Finance"),
    NavItem("Disputes", "billing:dispute-list", F, "exclamation-octagon", order=531, group="Finance"),
    NavItem("Collections", "billing:collections", F, "telephone-outbound", order=531, group="Finance"),
    NavItem("Cash forecast", "billing:cash-forecast", F, "graph-up-arrow", order=534, group="Finance"),
    NavItem("Vendor payments", "billing:vendor-payment-list", F, "send", order=532, group="Finance"),
    NavItem("Payment runs", "billing:payment-run-list", F, "bank2", order=533, group="Finance"),
    NavItem("VAT return", "billing:vat-return", F, "percent", order=535, group="Finance"),
    NavItem("Vendor bills", "billing:vendor-bill-list", F, "file-earmark-text", order=540, group="Finance"),
    NavItem(
        "Bills to approve",
        "billing:vendor-bill-queue",
        (Role.FINANCE, Role.ADMIN, Role.PROJECT_MANAGER),
        "check2-square",
        order=545,
        group="Finance",
    ),
    NavItem("AP", "billing:ap-aging", F, "hourglass-bottom", order=550, group="Finance"),
    NavItem("Go-live", "billing:golive-list", F, "box-arrow-in-right", order=590, group="Finance"),
    NavItem("Vendors", "crm:vendors", F, "truck", order=555, group="Finance"),
    NavItem("Subcontractor hours", "billing:subcontract-match", F, "people", order=537, group="Finance"),
    NavItem("My invoices", "billing:portal", (Role.CLIENT,), "receipt", order=500),
    NavItem("My disputes", "billing:portal-disputes", (Role.CLIENT,), "exclamation-octagon", order=505),
]
