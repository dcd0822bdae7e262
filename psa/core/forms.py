"""Form helpers: a DomainError from a service becomes inline form errors."""

from django import forms

from psa.core.exceptions import DomainError


def form_apply_domain_error(form: forms.BaseForm, error: DomainError) -> None:
    """Attach a service's refusal to the form: field messages inline, the rest at the top."""
    placed = False
    for name, messages in error.fields.items():
        target = name if name in form.fields else None
        for message in messages:
            form.add_error(target, message)
            placed = True
    if not placed or any(name not in form.fields for name in error.fields):
        form.add_error(None, error.message)
