"""CRM reads that are more than a filter."""

from crm.models import Account, Contact


def account_for_client_user(user) -> Account | None:
    """The account a client-portal user belongs to, or None (no contact with portal access)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    contact = Contact.objects.filter(user=user, portal_access=True).select_related("account").first()
    return contact.account if contact else None
