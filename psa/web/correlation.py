"""The correlation id that follows one deal from opportunity to cash: "opp-<opportunity id>".

`opportunity.won` and `project.created` are emitted with it by the hand-off service. The events further down
the spine (time.approved, invoice.issued, payment.received) are emitted by services that know their own rows
but not the deal; only the composition layer sees the whole chain, so it fills the id in as the event row is
written (a `pre_save` receiver on `psa.core.Event`, inside the emitting service's transaction):

- time.approved: the approved entries' project → its contract → the contract's opportunity;
- invoice.issued: the invoice's contract (or its project's contract) → opportunity;
- payment.received: the invoices the payment was allocated to → their contracts → opportunity.

An event that touches several deals (a batch approval across projects, a payment spread over invoices of
different deals) or none (period.closed, a contract made by hand) carries no correlation id rather than a
wrong one.
"""

from billing.models import Allocation, Invoice
from projects.models import Contract, TimeEntry
from psa.core.models import Event


def correlation_for_opportunity(opportunity_id: int | None) -> str:
    return f"opp-{opportunity_id}" if opportunity_id else ""


def _single(opportunity_ids) -> str:
    ids = {i for i in opportunity_ids if i}
    return correlation_for_opportunity(ids.pop()) if len(ids) == 1 else ""


def _contract_opportunities(*, contract_ids=(), project_ids=()) -> list[int | None]:
    by_contract = Contract.objects.filter(pk__in=[c for c in contract_ids if c]).values_list(
        "opportunity_id", flat=True
    )
    by_project = Contract.objects.filter(project_id__in=[p for p in project_ids if p]).values_list(
        "opportunity_id", flat=True
    )
    return [*by_contract, *by_project]


def correlation_for_event(event_type: str, data: dict) -> str:
    """The deal's correlation id for an event of `event_type` with `data` as emitted, or "" when not one deal."""
    if event_type == "time.approved":
        projects = TimeEntry.objects.filter(pk__in=data.get("entry_ids") or []).values_list("project_id", flat=True)
        return _single(_contract_opportunities(project_ids=set(projects)))
    if event_type == "invoice.issued":
        invoice = Invoice.objects.filter(pk=data.get("id", 0)).values("contract_id", "project_id").first()
        if invoice is None:
            return ""
        if invoice["contract_id"]:
            return _single(_contract_opportunities(contract_ids=[invoice["contract_id"]]))
        return _single(_contract_opportunities(project_ids=[invoice["project_id"]]))
    if event_type == "payment.received":
        invoices = Allocation.objects.filter(payment_id=data.get("id", 0)).values_list(
            "invoice__contract_id", "invoice__project_id"
        )
        contracts = {c for c, _p in invoices if c}
        project_ids = {p for c, p in invoices if not c and p}
        return _single(_contract_opportunities(contract_ids=contracts, project_ids=project_ids))
    return ""


def fill_correlation_id(sender, instance: Event, raw: bool = False, **kwargs) -> None:
    """pre_save of Event: an event emitted without a correlation id gets its deal's, when it has exactly one."""
    if raw or instance.correlation_id or not instance._state.adding:
        return
    instance.correlation_id = correlation_for_event(instance.type, instance.data or {})
