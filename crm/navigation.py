from crm.permissions import VIEW_ROLES
from psa.core.ui import NavItem

MENU = [
    NavItem("Pipeline", "crm:board", VIEW_ROLES, "kanban", order=10),
    NavItem("Accounts", "crm:accounts", VIEW_ROLES, "buildings", order=12),
    NavItem("Forecast", "crm:forecast", VIEW_ROLES, "graph-up-arrow", order=14),
    NavItem("Demand", "crm:demand", VIEW_ROLES, "people", order=16),
]
