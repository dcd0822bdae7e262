"""Rate-card reads that are more than a filter."""

from datetime import date

from django.db.models import Q

from projects.models import RateCardLine


def rate_card_line_overlap(
    *, rate_card_id: int, role_id: int, valid_from: date, valid_to: date | None, exclude_id: int | None = None
) -> RateCardLine | None:
    """The line of the same role on the card whose dates overlap [valid_from, valid_to] (inclusive; an empty
    end is open-ended), or None."""
    qs = RateCardLine.objects.filter(rate_card_id=rate_card_id, role_id=role_id).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=valid_from)
    )
    if valid_to is not None:
        qs = qs.filter(valid_from__lte=valid_to)
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    return qs.order_by("valid_from").first()
