from functools import wraps

from django.contrib import messages
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect

from psa.core.exceptions import DomainError
from psa.core.forms import error_text
from psa.core.redirects import safe_next
from psa.core.roles import Role, role_required

finance_required = role_required(Role.FINANCE, Role.ADMIN)


def post_action(view):
    """A POST-only action: a service refusal becomes a message on the page it came from."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            return view(request, *args, **kwargs)
        except DomainError as exc:
            messages.error(request, error_text(exc))
            return redirect(safe_next(request, "billing:invoice-list", referer=True))

    return wrapped
