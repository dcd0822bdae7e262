"""Who may see and change the pipeline.

- The pipeline (board, list, forecast, demand) is visible to sales, project managers (for staffing), finance
  (for revenue planning) and admins; consultants and clients never see it.
- Sales reps create deals and change their own deals only. A *sales manager* may change anyone's: a user
  holding the admin role, or any user given the `crm.manage_pipeline` permission (directly or through a
  group) in the Django admin. Finance and project managers read only.
"""

from psa.core.roles import Role, has_role, user_roles

VIEW_ROLES = (Role.SALES, Role.PROJECT_MANAGER, Role.FINANCE, Role.ADMIN)
EDIT_ROLES = (Role.SALES, Role.ADMIN)
ACCOUNT_EDIT_ROLES = (Role.SALES, Role.FINANCE, Role.ADMIN)


def can_view_pipeline(user) -> bool:
    return has_role(user, *VIEW_ROLES)


def can_edit_pipeline(user) -> bool:
    return has_role(user, *EDIT_ROLES)


def is_sales_manager(user) -> bool:
    if Role.ADMIN in user_roles(user):
        return True
    return bool(user and user.is_authenticated and user.has_perm("crm.manage_pipeline"))


def may_change_deal(user, opportunity) -> bool:
    """The owner (a sales rep) or a sales manager."""
    if not can_edit_pipeline(user):
        return False
    return opportunity.owner_id == user.pk or is_sales_manager(user)


def import_kinds(user) -> list[str]:
    """What the user may import: accounts (sales, finance, admins) and deals (sales and admins; a rep's own,
    crm.services.imports)."""
    kinds = []
    if has_role(user, *ACCOUNT_EDIT_ROLES):
        kinds.append("accounts")
    if can_edit_pipeline(user):
        kinds.append("opportunities")
    return kinds
