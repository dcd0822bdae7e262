"""Labour cost test data: projects with employee and subcontractor time and expenses in their approved state
(the snapshot cost rate as the approval copies it), and the project cost read from the GL."""

from decimal import Decimal
from itertools import count

from django.db.models import Sum

from crm.models import Vendor
from ledger.choices import LABOUR_COST_SOURCE, PROJECT_COST_ROLES, SystemAccount
from ledger.models import JournalEntry, JournalLine
from projects.models import Consultant
from tests.crm.factories import RoleFactory
from tests.factories import UserFactory

D = Decimal
_n = count(1)


def vendor(currency: str = "EUR", rate: str | None = "50.00") -> Vendor:
    n = next(_n)
    return Vendor.objects.create(
        name=f"Subco {n}",
        legal_name=f"Subco {n} Ltd",
        country="GB",
        currency=currency,
        is_subcontractor=True,
        hourly_rate=D(rate) if rate is not None else None,
    )


def person(*, currency: str = "EUR", supplier: Vendor | None = None) -> Consultant:
    n = next(_n)
    return Consultant.objects.create(
        user=UserFactory(roles=["consultant"]),
        role=RoleFactory(code=f"cost-{n}"),
        cost_currency=currency,
        vendor=supplier,
    )


def cost_gl(project, role: str = SystemAccount.COST_OF_SERVICES) -> Decimal:
    """Debit-positive balance of one account role on the project's dimension. Labour absorbed carries no project
    (a firm-wide account): its lines are found by the project's labour cost entries, and must have no project."""
    lines = JournalLine.objects.filter(account__system_role=role, project=project)
    if role == SystemAccount.LABOUR_ABSORBED:
        lines = JournalLine.objects.filter(
            account__system_role=role,
            project__isnull=True,
            entry__source__startswith=LABOUR_COST_SOURCE,
            entry__source__endswith=f":{project.pk}",
        )
    row = lines.aggregate(d=Sum("debit"), c=Sum("credit"))
    return (row["d"] or D("0")) - (row["c"] or D("0"))


def project_cost(project) -> Decimal:
    """The project's cost in the GL: PROJECT_COST_ROLES on its dimension."""
    return sum((cost_gl(project, role) for role in PROJECT_COST_ROLES), D("0"))


def cost_entries(project=None):
    entries = JournalEntry.objects.filter(source__startswith=LABOUR_COST_SOURCE)
    if project is not None:
        entries = entries.filter(source__endswith=f":{project.pk}")
    return entries.order_by("pk")
