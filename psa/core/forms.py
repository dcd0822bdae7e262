"""Form helpers: a DomainError from a service becomes inline form errors or one plain-words message.

The API keeps each refusal's machine-readable parts (`code`, the "(rule: ...)" in the message, field names); a
page shows sentences: no rule codes, no "__all__" or raw field names (a field is named as its form labels it),
and a point made once even when the service repeats it under a field.
"""

import re
from collections.abc import Mapping

from django import forms

from psa.core.exceptions import DomainError

_RULE = re.compile(r"\s*\(rule: [\w.-]+\)")
_NON_FIELD = ("__all__", "non_field_errors")
_PREFIX = re.compile(r"^(?:__all__|non_field_errors)\s*:\s*")
_ITEM = re.compile(r"^\w+\[\d+\]\.")  # "lines[1].description": a form with one line calls it "description"


def plain_message(text: object) -> str:
    """A message as a page shows it: without rule codes or a "__all__:" prefix."""
    cleaned = _PREFIX.sub("", _RULE.sub("", str(text))).strip()
    return re.sub(r"\s+\.", ".", cleaned)


def field_label(name: str, labels: Mapping[str, str] | None = None) -> str:
    """How a page names a field: its form label when known, else its name in words ("end_date" -> "End date")."""
    if labels and name in labels:
        return str(labels[name])
    return name.replace("_", " ").strip().capitalize()


def _said(point: str, text: str) -> bool:
    return point.rstrip(".").lower() in text.lower()


def error_text(error: DomainError, labels: Mapping[str, str] | None = None) -> str:
    """One refusal as plain sentences for a flash message: the message, then each field's point that the
    message does not already make, named by its label."""
    text = plain_message(error.message)
    for name, messages in error.fields.items():
        for message in messages:
            point = plain_message(message)
            if not point or _said(point, text):
                continue
            named = point if name in _NON_FIELD else f"{field_label(name, labels)}: {point}"
            text = f"{text} {named}" if text else named
    return text


def form_labels(form: forms.BaseForm) -> dict[str, str]:
    return {name: str(field.label or field_label(name)) for name, field in form.fields.items()}


def form_errors_text(form: forms.BaseForm) -> str:
    """A bound form's errors as one sentence per field, each named by its label (for a flash message)."""
    labels = form_labels(form)
    parts = []
    for name, messages in form.errors.items():
        points = " ".join(plain_message(m) for m in messages)
        parts.append(points if name in _NON_FIELD else f"{field_label(name, labels)}: {points}")
    return " ".join(parts)


def form_apply_domain_error(form: forms.BaseForm, error: DomainError) -> None:
    """Attach a service's refusal to the form: field messages inline under their field, the rest at the top
    (the service's message first), each point once and without rule codes."""
    labels = form_labels(form)
    inline = False
    top: list[tuple[str, str]] = []  # (point, as shown)
    for raw_name, messages in error.fields.items():
        name = _ITEM.sub("", raw_name) if _ITEM.sub("", raw_name) in form.fields else raw_name
        for message in messages:
            point = plain_message(message)
            if name in form.fields:
                form.add_error(name, point)
                inline = True
            else:
                top.append((point, point if name in _NON_FIELD else f"{field_label(name, labels)}: {point}"))
    main = plain_message(error.message)
    shown = [shown for point, shown in top if not _said(point, main)]
    if main and (top or not inline):
        shown.insert(0, main)
    for message in dict.fromkeys(shown):
        form.add_error(None, message)
