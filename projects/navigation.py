from projects.permissions import VIEW_ROLES
from psa.core.ui import NavItem

MENU = [NavItem("Projects", "projects:list", VIEW_ROLES, "briefcase", order=20)]
