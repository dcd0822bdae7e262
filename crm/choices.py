"""CRM choices: currencies, billing models, stage kinds, opportunity status and its transitions."""

from django.db import models

from psa.core.countries import COUNTRIES as COUNTRIES
from psa.core.currency import CURRENCIES as CURRENCIES
from psa.core.currency import CURRENCY_CODES as CURRENCY_CODES

# ISO 4217 codes the firm invoices in, from the kernel (psa.core.currency). Each account invoices in one of them.
DEFAULT_CURRENCY = "EUR"


class BillingModel(models.TextChoices):
    TIME_AND_MATERIALS = "tm", "Time and materials"
    FIXED_FEE = "fixed_fee", "Fixed fee"
    MILESTONE = "milestone", "Milestone"
    RETAINER = "retainer", "Retainer"
    SUBSCRIPTION = "subscription", "Subscription"


class StageKind(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class OpportunityStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


# A won deal stays won (its contract and project exist); a lost deal may be reopened.
OPPORTUNITY_TRANSITIONS: dict[str, tuple[str, ...]] = {
    OpportunityStatus.OPEN: (OpportunityStatus.WON, OpportunityStatus.LOST),
    OpportunityStatus.LOST: (OpportunityStatus.OPEN,),
    OpportunityStatus.WON: (),
}


class ServiceType(models.TextChoices):
    """What is being sold; picks the project template on a win."""

    ADVISORY = "advisory", "Advisory"
    IMPLEMENTATION = "implementation", "Implementation"
    MANAGED_SERVICE = "managed_service", "Managed service"
    TRAINING = "training", "Training"


class BuyerType(models.TextChoices):
    """Whether the account buys as a business (B2B) or as a consumer (B2C): it decides the VAT rules."""

    BUSINESS = "business", "Business (B2B)"
    CONSUMER = "consumer", "Consumer (B2C)"


class CreditHoldSource(models.TextChoices):
    """Who put an account on credit hold: finance by hand, or the daily rule (billing.services.credit)."""

    MANUAL = "manual", "Finance"
    RULE = "rule", "Rule"
