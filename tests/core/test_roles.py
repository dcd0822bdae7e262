import pytest
from django.contrib.auth.models import AnonymousUser

from psa.core.roles import Role, has_role, is_client_only, primary_role, user_roles

pytestmark = pytest.mark.django_db


def test_roles_come_from_groups(make_user):
    user = make_user("sales", "project_manager")
    assert user_roles(user) == {Role.SALES, Role.PROJECT_MANAGER}


def test_admin_holds_every_staff_role_but_not_client(make_user):
    admin = make_user("admin")
    assert has_role(admin, Role.FINANCE)
    assert has_role(admin, Role.CONSULTANT)
    assert not has_role(admin, Role.CLIENT)


def test_a_user_without_the_role_is_refused(make_user):
    consultant = make_user("consultant")
    assert not has_role(consultant, Role.FINANCE, Role.PROJECT_MANAGER)


def test_anonymous_and_inactive_users_hold_no_role(make_user):
    assert user_roles(AnonymousUser()) == frozenset()
    inactive = make_user("finance", is_active=False)
    assert not has_role(inactive, Role.FINANCE)


def test_client_only_and_primary_role(make_user):
    assert is_client_only(make_user("client"))
    assert not is_client_only(make_user("client", "finance"))
    assert primary_role(make_user("consultant", "project_manager")) == Role.PROJECT_MANAGER


def test_role_groups_exist_after_migrations():
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= {r.value for r in Role}
