"""Helpers shared by the crm services."""

from django.core.exceptions import ValidationError
from django.db import models

from psa.core.exceptions import ValidationFailed


def clean_or_refuse(obj: models.Model, *, exclude: list[str] | None = None) -> None:
    """`full_clean()` and turn Django's ValidationError into the one domain error (fields named)."""
    try:
        obj.full_clean(exclude=exclude)
    except ValidationError as exc:
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        fields = {("non_field_errors" if k == "__all__" else k): v for k, v in fields.items()}
        first = next(iter(fields.values()))[0]
        raise ValidationFailed(f"Some fields are not valid: {first}", fields=fields) from None
