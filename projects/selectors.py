"""projects reads that are more than a filter."""

from collections.abc import Iterable
from datetime import date

from django.db.models import Q

from projects.models import Contract, RateCardLine
from psa.core.webhooks import correlation_id_for_deal


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


def deal_correlation_id(*, contract_ids: Iterable[int | None] = (), project_ids: Iterable[int | None] = ()) -> str:
    """The correlation id of the one deal behind these contracts and the contracts of these projects ("opp-<id>"),
    or "" when they lead to no deal or to several."""
    contracts = Contract.objects.filter(
        Q(pk__in=[c for c in contract_ids if c]) | Q(project_id__in=[p for p in project_ids if p])
    )
    return correlation_id_for_deal(contracts.values_list("opportunity_id", flat=True))
