from crm.permissions import VIEW_ROLES
from psa.core.ui import NavItem

MENU = [
    NavItem("Pipeline", "crm:board", VIEW_ROLES, "kanban", order=10, group="Sales"),
    NavItem("Accounts", "crm:accounts", VIEW_ROLES, "buildings", order=12, group="Sales"),
    NavItem("Forecast", "crm:forecast", VIEW_ROLES, "graph-up-arrow", order=14, group="Sales"),
    NavItem("Demand", "crm:demand", VIEW_ROLES, "people", order=16, group="Sales"),
]
