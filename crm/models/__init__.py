"""CRM data: accounts (client and billing entity), contacts, and the pipeline.

Single-row rules live here as constraints; every write goes through crm.services. The models live in
crm.models.accounts and crm.models.pipeline; every name is importable from crm.models as before.
"""

from crm.models.accounts import Account, Contact, CreditHold, Vendor
from crm.models.pipeline import (
    DeliveryRole,
    LineMilestone,
    Opportunity,
    OpportunityLine,
    RoleDemand,
    Stage,
    StageHistory,
)

__all__ = [
    "Account",
    "Contact",
    "CreditHold",
    "DeliveryRole",
    "LineMilestone",
    "Opportunity",
    "OpportunityLine",
    "RoleDemand",
    "Stage",
    "StageHistory",
    "Vendor",
]
