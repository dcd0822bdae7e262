"""Billing template helpers."""

from django import template

from billing.choices import DUNNING_LEVELS, UNITS, InvoiceStatus

register = template.Library()

BADGES: dict[str, str] = {
    InvoiceStatus.DRAFT: "secondary",
    InvoiceStatus.ISSUED: "primary",
    InvoiceStatus.PARTLY_CREDITED: "info",
    InvoiceStatus.PARTLY_PAID: "info",
    InvoiceStatus.PAID: "success",
    InvoiceStatus.CREDITED: "dark",
    InvoiceStatus.WRITTEN_OFF: "warning",
    InvoiceStatus.CANCELLED: "light",
}


@register.filter
def of_line(by_line: dict, line_id: int) -> list:
    """`{% for vc in vendor_costs|of_line:line.pk %}`: a line's entries of a mapping by line id (none: [])."""
    return by_line.get(line_id, [])


@register.filter
def unit_label(code: str) -> str:
    return UNITS.get(code, code)


@register.filter
def status_badge(status: str) -> str:
    return BADGES.get(status, "secondary")


@register.filter
def status_label(invoice) -> str:
    """Credit notes read 'Applied' where invoices read 'Paid'."""
    if invoice.is_credit_note and invoice.status == InvoiceStatus.PAID:
        return "Applied"
    if invoice.is_credit_note and invoice.status == InvoiceStatus.PARTLY_PAID:
        return "Partly applied"
    return invoice.get_status_display()


@register.filter
def dunning_name(level) -> str:
    """The name of a dunning level (1 = first reminder ... 3 = final notice)."""
    return {lvl: name for lvl, _, name in DUNNING_LEVELS}.get(level, "")
