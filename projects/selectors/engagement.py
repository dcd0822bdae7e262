"""Reads about engagements (contracts and the deals behind them)."""

from collections.abc import Iterable

from django.db.models import Q

from projects.models import Contract
from psa.core.webhooks import correlation_id_for_deal


def deal_correlation_id(*, contract_ids: Iterable[int | None] = (), project_ids: Iterable[int | None] = ()) -> str:
    """The correlation id of the one deal behind these contracts and the contracts of these projects ("opp-<id>"),
    or "" when they lead to no deal or to several."""
    contracts = Contract.objects.filter(
        Q(pk__in=[c for c in contract_ids if c]) | Q(project_id__in=[p for p in project_ids if p])
    )
    return correlation_id_for_deal(contracts.values_list("opportunity_id", flat=True))
