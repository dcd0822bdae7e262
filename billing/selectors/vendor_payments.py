"""Reads for paying vendors: the payments made (posted), the payment runs and what a run pays. Finance and
administrators see them all; anyone else sees none. Each list issues a fixed number of queries."""

from django.contrib.auth.models import User
from django.db.models import Count, Prefetch, QuerySet

from billing.models import PaymentRun, VendorPayment, VendorPaymentAllocation
from psa.core.roles import Role, has_role

FINANCE = (Role.FINANCE, Role.ADMIN)


def vendor_payments_for(user: User) -> QuerySet[VendorPayment]:
    """Payments paid and posted: recorded by hand, or in a booked run (a proposed or cancelled run's payments
    were never made)."""
    if not has_role(user, *FINANCE):
        return VendorPayment.objects.none()
    return (
        VendorPayment.objects.filter(journal_entry__isnull=False)
        .select_related("vendor", "entity", "run", "journal_entry")
        .annotate(n_bills=Count("allocations"))
    )


def payment_runs_for(user: User) -> QuerySet[PaymentRun]:
    if not has_role(user, *FINANCE):
        return PaymentRun.objects.none()
    return PaymentRun.objects.select_related("entity", "bank_account").annotate(n_payments=Count("payments"))


def payment_run_payments(run: PaymentRun) -> list[VendorPayment]:
    """The run's payments with the bills each pays (three queries)."""
    allocations = VendorPaymentAllocation.objects.select_related("bill").order_by("bill__due_date", "bill_id")
    return list(
        run.payments.select_related("vendor", "journal_entry")
        .prefetch_related(Prefetch("allocations", queryset=allocations))
        .order_by("vendor__name", "pk")
    )
