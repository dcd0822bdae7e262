"""View helpers: a service call that refuses becomes inline form errors or a flash message."""

from collections.abc import Callable

from django.contrib import messages

from psa.core.exceptions import DomainError
from psa.core.forms import error_text, form_apply_domain_error


def call_service(form, fn: Callable, **kwargs):
    """Run a service for a valid form; on refusal put the errors on the form and return None."""
    try:
        return fn(**kwargs)
    except DomainError as exc:
        form_apply_domain_error(form, exc)
        return None


def flash_error(request, exc: DomainError) -> None:
    messages.error(request, error_text(exc))
