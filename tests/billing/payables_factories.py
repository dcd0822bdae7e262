"""Payables test data: vendors, a subcontractor supplied by a vendor, a project with a manager and a
contract line, and bills entered and posted through billing.services.payables."""

import importlib
from datetime import date
from decimal import Decimal
from itertools import count

from django.apps import apps

from billing.services.payables import bill_approve, bill_approve_pm, bill_create, bill_submit
from crm.models import Vendor
from ledger.models import LedgerAccount
from psa.core.entities import entity_default
from psa.core.models import LegalEntity
from tests.billing.factories import make_consultant, tm_contract
from tests.factories import UserFactory, gb_vat_id

_n = count(700)


def cost_accounts() -> None:
    """The cost side's accounts (gone after a transactional test's flush, like the chart)."""
    importlib.import_module("ledger.migrations.0016_cost_side_accounts").create_accounts(apps, None)


def gb_entity():
    """The default entity in GB (the tests' seller country, tests/conftest.py): a GB vendor is domestic."""
    entity = entity_default()
    LegalEntity.objects.filter(pk=entity.pk).update(country="GB", vat_id="GB980780684")
    entity.refresh_from_db()
    return entity


def make_vendor(**kw) -> Vendor:
    n = next(_n)
    values = {
        "name": f"Vendor {n}",
        "legal_name": f"Vendor {n} Ltd",
        "country": "GB",
        "tax_id": gb_vat_id(n),
        "currency": "EUR",
        "payment_terms_days": 30,
    }
    values.update(kw)
    return Vendor.objects.create(**values)


def foreign_agency(**kw) -> Vendor:
    """A German subcontracting agency (the test entity is in GB: its bills are reverse charge)."""
    values = {"country": "DE", "tax_id": "DE811234565", "is_subcontractor": True, "hourly_rate": Decimal("80")}
    values.update(kw)
    return make_vendor(**values)


def subcontractor(vendor: Vendor):
    consultant = make_consultant(first="Sub", last=f"Contractor {next(_n)}")
    consultant.vendor = vendor
    consultant.save(update_fields=["vendor"])
    return consultant


def managed_project(pm=None):
    """A T&M contract's project with a manager; returns (project, contract line, manager)."""
    pm = pm or UserFactory(roles=["project_manager"])
    contract, line = tm_contract()
    project = contract.project
    project.project_manager = pm
    project.save(update_fields=["project_manager"])
    return project, line, pm


def overhead_account() -> LedgerAccount:
    return LedgerAccount.objects.get(code="6100")


def cost_line(project, net: str = "500.00", **kw) -> dict:
    return {"kind": "project_cost", "description": "Design work", "project_id": project.pk, "net_amount": net} | kw


def posted_bill(by, vendor, lines, *, on=date(2026, 2, 10), number=None, pm=None, **kw):
    bill = bill_create(by=by, vendor_id=vendor.pk, number=number or f"B-{next(_n)}", bill_date=on, lines=lines, **kw)
    bill_submit(bill_id=bill.pk, by=by)
    if pm is not None:
        bill_approve_pm(bill_id=bill.pk, by=pm)
    return bill_approve(bill_id=bill.pk, by=by)
