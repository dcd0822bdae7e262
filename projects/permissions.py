"""Who sees what on the engagement side.

Projects and contracts are visible to project managers, finance, sales (they sold them) and admins.
Consultants will see their assigned projects once staffing exists; clients never see this side.
Rate cards are visible to the roles that may see rates (psa.core.roles.RATE_ROLES).
"""

from psa.core.roles import RATE_ROLES, Role

VIEW_ROLES = (Role.PROJECT_MANAGER, Role.FINANCE, Role.SALES, Role.ADMIN)
PM_ROLES = (Role.PROJECT_MANAGER, Role.ADMIN)
RATE_VIEW_ROLES = tuple(RATE_ROLES)
