import pytest

from crm.models import Account, Contact
from crm.selectors import account_for_client_user

pytestmark = pytest.mark.django_db


def test_a_client_user_with_portal_access_is_scoped_to_its_account(make_user):
    account = Account.objects.create(name="Acme")
    user = make_user("client")
    Contact.objects.create(account=account, first_name="Claire", user=user, portal_access=True)
    assert account_for_client_user(user) == account


def test_a_user_without_portal_access_has_no_account(make_user):
    account = Account.objects.create(name="Acme")
    user = make_user("client")
    Contact.objects.create(account=account, first_name="Claire", user=user, portal_access=False)
    assert account_for_client_user(user) is None
    assert account_for_client_user(make_user("client")) is None
