from projects.permissions import VIEW_ROLES
from projects.selectors.people import has_consultant_record
from psa.core.roles import Role
from psa.core.ui import NavItem

MENU = [NavItem("Projects", "projects:list", VIEW_ROLES, "briefcase", order=20, group="Delivery")]


# Time and staffing entries.
MENU += [
    NavItem(
        "Timesheet",
        "projects:timesheet",
        (Role.CONSULTANT,),
        "clock",
        order=30,
        group="Delivery",
        available=has_consultant_record,
    ),
    NavItem(
        "Expenses",
        "projects:expenses",
        (Role.CONSULTANT,),
        "receipt",
        order=31,
        group="Delivery",
        available=has_consultant_record,
    ),
    NavItem(
        "Approvals",
        "projects:approvals",
        (Role.PROJECT_MANAGER, Role.ADMIN),
        "check2-square",
        order=32,
        group="Delivery",
    ),
]
MENU += [
    NavItem("Staffing", "projects:staffing", (Role.PROJECT_MANAGER, Role.ADMIN), "people", order=33, group="Delivery"),
    NavItem(
        "People",
        "projects:people",
        (Role.PROJECT_MANAGER, Role.FINANCE, Role.ADMIN),
        "person-badge",
        order=35,
        group="Delivery",
    ),
    NavItem(
        "Utilization",
        "projects:utilization",
        (Role.PROJECT_MANAGER, Role.FINANCE, Role.ADMIN),
        "speedometer2",
        order=34,
        group="Delivery",
    ),
]
