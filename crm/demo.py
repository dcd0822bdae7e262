"""Demo pipeline: 18 accounts (a group with subsidiaries, three currencies), contacts (one with the `client`
portal login), delivery roles, and 48 deals across every stage — open ones spread over the next months,
lost ones with reasons, and won-ready ones (every billing model) that projects.demo wins.

Litware Health contracts with the UK entity by default (ACCOUNT_ENTITIES), so its won deal is invoiced in the
GB-INV series. Idempotent: everything is keyed by a `demo-` external id or a natural key and skipped when present."""

import datetime as dt
import random
import zlib
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from stdnum import luhn
from stdnum.at import uid as at_uid
from stdnum.iso7064 import mod_11_10

from crm import services
from crm.choices import BillingModel, OpportunityStatus, ServiceType
from crm.models import Account, Contact, DeliveryRole, Opportunity, Stage, StageHistory
from psa.core.models import LegalEntity

ROLES = [
    ("Engagement manager", "engagement-manager"),
    ("Solution architect", "architect"),
    ("Senior consultant", "senior"),
    ("Consultant", "consultant"),
    ("Data engineer", "data-engineer"),
]

# The country of the EUR accounts outside Germany (the others: DE for EUR, US for USD, GB for GBP), so the
# demo firm (a German seller) bills domestic (S 19 %), intra-EU reverse charge (AE) and not-subject (O) clients.
COUNTRY = {"Northwind Logistics": "NL", "Contoso Bank": "FR", "Alpine Ski House": "AT", "Coho Winery": "FR"}


def _demo_vat_id(country: str, seed: int) -> str:
    """A VAT id with valid check digits for `country` (python-stdnum's rules), derived from `seed`; a US client
    has an EIN (the US has no VAT)."""
    if country == "DE":
        base = f"{10_000_000 + seed % 89_999_999:08d}"
        return f"DE{base}{mod_11_10.calc_check_digit(base)}"
    if country == "FR":
        siren = f"{10_000_000 + seed % 89_999_999:08d}"
        siren += luhn.calc_check_digit(siren)
        return f"FR{(12 + 3 * (int(siren) % 97)) % 97:02d}{siren}"  # the French VAT key of a SIREN
    if country == "NL":
        return f"NL{nl_btw_rsin(seed)}B01"
    if country == "AT":
        base = f"{1_000_000 + seed % 8_999_999:07d}"
        return f"ATU{base}{at_uid.calc_check_digit('U' + base)}"
    if country == "GB":
        digits = f"{1_000_000 + seed % 8_999_999:07d}"
        weighted = sum(int(c) * w for c, w in zip(digits, range(8, 1, -1), strict=True))
        return f"GB{digits}{(-weighted) % 97:02d}"
    return f"{seed % 100:02d}-{seed % 10_000_000:07d}"


def nl_btw_rsin(seed: int) -> str:
    """Nine digits passing the Dutch eleven-test (the RSIN/BSN part of an NL VAT id)."""
    n = seed % 90_000_000 + 10_000_000
    while True:
        digits = f"{n:08d}"
        rest = sum(int(c) * w for c, w in zip(digits, range(9, 1, -1), strict=True)) % 11
        if rest != 10:
            return digits + str(rest)
        n += 1


ACCOUNTS = [
    # name, domain, currency, terms, parent
    ("Northwind Group", "northwind-group.example", "EUR", 30, None),
    ("Northwind Retail", "retail.northwind-group.example", "EUR", 30, "Northwind Group"),
    ("Northwind Logistics", "logistics.northwind-group.example", "EUR", 45, "Northwind Group"),
    ("Contoso Bank", "contoso.example", "EUR", 30, None),
    ("Fabrikam Energy", "fabrikam.example", "EUR", 60, None),
    ("Tailspin Airways", "tailspin.example", "USD", 30, None),
    ("Wide World Importers", "wideworld.example", "USD", 45, None),
    ("Adventure Works", "adventure-works.example", "USD", 30, None),
    ("Litware Health", "litware.example", "GBP", 30, None),
    ("Proseware Media", "proseware.example", "GBP", 14, None),
    ("Alpine Ski House", "alpineski.example", "EUR", 30, None),
    ("Blue Yonder Labs", "blueyonder.example", "EUR", 30, None),
    ("Coho Winery", "coho.example", "EUR", 21, None),
    ("Datum Analytics", "datum.example", "EUR", 30, None),
    ("Fourth Coffee", "fourthcoffee.example", "USD", 30, None),
    ("Graphic Design Institute", "gdi.example", "GBP", 30, None),
    ("Humongous Insurance", "humongous.example", "EUR", 45, None),
    ("Lucerne Publishing", "lucerne.example", "EUR", 30, None),
]

# Accounts that contract with another of the firm's entities by default (psa.core.demo seeds them): their won
# deals, contracts and invoices are that entity's (GB-INV-...).
ACCOUNT_ENTITIES = {"Litware Health": "UK"}

TOPICS = [
    "Data platform",
    "CRM rollout",
    "Cloud migration",
    "Security review",
    "ERP upgrade",
    "Analytics sprint",
    "Support retainer",
    "Integration hub",
    "Process redesign",
    "Training programme",
    "Mobile app",
    "Cost optimisation",
]

# Won-ready deals (one per billing model) that projects.demo wins: external id, account, billing model.
WON = [
    ("demo-won-tm", "Contoso Bank", BillingModel.TIME_AND_MATERIALS),
    ("demo-won-fixed", "Northwind Retail", BillingModel.FIXED_FEE),
    ("demo-won-milestone", "Litware Health", BillingModel.MILESTONE),
    ("demo-won-retainer", "Tailspin Airways", BillingModel.RETAINER),
    ("demo-won-subscription", "Fabrikam Energy", BillingModel.SUBSCRIPTION),
]


def _user(username: str):
    return get_user_model().objects.filter(username=username).first()


def _lines(model: str, start: dt.date, end: dt.date, roles: dict, rng: random.Random) -> list[dict]:
    senior, consultant = roles["senior"], roles["consultant"]
    demand = [
        {"role": senior, "hours": Decimal(rng.choice([80, 120, 160])), "start_date": start, "end_date": end},
        {"role": consultant, "hours": Decimal(rng.choice([120, 200, 240])), "start_date": start, "end_date": end},
    ]
    if model == BillingModel.TIME_AND_MATERIALS:
        return [
            {
                "description": "Delivery team, time and materials",
                "billing_model": model,
                "hours": Decimal("320.00"),
                "rate": Decimal("145.0000"),
                "cap": Decimal("50000.00"),
                "role_demands": demand,
            }
        ]
    if model == BillingModel.MILESTONE:
        price = Decimal("36000.00")
        mid = start + (end - start) / 2
        return [
            {
                "description": "Phased delivery",
                "billing_model": model,
                "price": price,
                "milestones": [
                    {"name": "Design signed off", "amount": Decimal("12000.00"), "due_date": start + dt.timedelta(21)},
                    {"name": "Build complete", "amount": Decimal("14000.00"), "due_date": mid},
                    {"name": "Go-live accepted", "amount": Decimal("10000.00"), "due_date": end},
                ],
                "role_demands": demand,
            }
        ]
    label = {
        BillingModel.FIXED_FEE: "Fixed-fee implementation",
        BillingModel.RETAINER: "Monthly advisory retainer",
        BillingModel.SUBSCRIPTION: "Managed platform subscription",
    }[BillingModel(model)]
    list_price = {BillingModel.FIXED_FEE: "48000.00", BillingModel.RETAINER: "30000.00"}.get(
        BillingModel(model), "24000.00"
    )
    return [
        {
            "description": label,
            "billing_model": model,
            "price": Decimal(list_price),
            "role_demands": demand,
        },
        {
            "description": "Expert days as needed",
            "billing_model": BillingModel.TIME_AND_MATERIALS,
            "hours": Decimal("40.00"),
            "rate": Decimal("160.0000"),
        },
    ]


@transaction.atomic
def seed() -> list[str]:
    sales, admin, pm, client = _user("sales"), _user("admin"), _user("pm"), _user("client")
    if sales is None or admin is None:
        return ["crm: demo users missing, pipeline skipped"]
    roles = {}
    for name, code in ROLES:
        roles[code], _ = DeliveryRole.objects.get_or_create(code=code, defaults={"name": name})

    accounts = {a.name: a for a in Account.objects.filter(name__in=[a[0] for a in ACCOUNTS])}
    entities = {e.code: e for e in LegalEntity.objects.filter(code__in=ACCOUNT_ENTITIES.values())}
    new_accounts = 0
    for name, domain, currency, terms, parent in ACCOUNTS:
        if name in accounts:
            continue
        slug = domain.split(".")[0]
        country = COUNTRY.get(name) or {"USD": "US", "GBP": "GB"}.get(currency, "DE")
        accounts[name] = services.account_create(
            by=admin,
            name=name,
            legal_name=f"{name} {'Inc.' if currency == 'USD' else 'Ltd' if currency == 'GBP' else 'GmbH'}",
            tax_id=_demo_vat_id(country, zlib.crc32(slug.encode())),
            country=country,
            domain=domain,
            billing_address=f"{len(name)} Market Street\n{slug.title()} City",
            billing_email=f"accounts-payable@{domain}",
            currency=currency,
            payment_terms_days=terms,
            parent=accounts.get(parent) if parent else None,
            owner=sales,
            external_id=f"demo-acc-{slug}",
            entity=entities.get(ACCOUNT_ENTITIES.get(name, "")),
        )
        new_accounts += 1
        Contact.objects.create(
            account=accounts[name],
            first_name=random.Random(name).choice(["Anna", "Ben", "Chen", "Dana", "Eli", "Farah"]),
            last_name=slug.title(),
            email=f"buyer@{domain}",
            job_title="Head of procurement",
            is_billing_contact=True,
        )
    if client is not None and not Contact.objects.filter(user=client).exists():
        Contact.objects.create(
            account=accounts["Contoso Bank"],
            first_name=client.first_name or "Claire",
            last_name=client.last_name or "Client",
            email=client.email,
            job_title="Finance manager",
            user=client,
            portal_access=True,
        )

    existing = set(Opportunity.objects.filter(external_id__startswith="demo-").values_list("external_id", flat=True))
    rng = random.Random(20261121)
    today = timezone.localdate()
    stages = {s.name: s for s in Stage.objects.all()}
    open_stages = [s for s in stages.values() if s.kind == "open"]
    created = 0
    owners = [sales, admin]
    names = list(accounts)
    for i in range(40):
        ext = f"demo-opp-{i:03d}"
        if ext in existing:
            continue
        account = accounts[names[(i * 7) % len(names)]]
        model = [BillingModel.TIME_AND_MATERIALS, BillingModel.FIXED_FEE, BillingModel.MILESTONE,
                 BillingModel.RETAINER, BillingModel.SUBSCRIPTION][i % 5]  # fmt: skip
        start = today + dt.timedelta(days=14 + rng.randint(0, 120))
        end = start + dt.timedelta(days=rng.choice([56, 84, 120, 180]))
        stage = open_stages[i % len(open_stages)]
        opp = services.opportunity_create(
            by=admin,
            owner=owners[i % 3 == 2],
            account=account,
            name=f"{TOPICS[i % len(TOPICS)]} {account.name.split()[0]}",
            expected_close_date=today + dt.timedelta(days=rng.randint(-5, 180)),
            stage=stage,
            service_start=start,
            service_end=end,
            service_type=list(ServiceType)[i % 4],
            delivery_manager=pm,
            external_id=ext,
            lines=_lines(model, start, end, roles, rng),
        )
        created += 1
        if i % 8 == 7:  # a lost one every few deals, with a reason
            services.opportunity_lose(
                opportunity_id=opp.pk, by=admin, reason=rng.choice(["Price", "Went with a competitor", "No budget"])
            )
    for ext, account_name, model in WON:
        if ext in existing:
            continue
        account = accounts[account_name]
        start = today - dt.timedelta(days=rng.randint(0, 20))
        end = start + dt.timedelta(days=150)
        services.opportunity_create(
            by=admin,
            owner=sales,
            account=account,
            name=f"{dict(BillingModel.choices)[model]} engagement {account.name.split()[0]}",
            expected_close_date=today,
            stage=stages["Negotiation"],
            service_start=start,
            service_end=end,
            service_type=ServiceType.IMPLEMENTATION if model != BillingModel.RETAINER else ServiceType.ADVISORY,
            delivery_manager=pm,
            external_id=ext,
            lines=_lines(model, start, end, roles, rng),
        )
        created += 1
    # Age the history so the sales cycle and the board look lived-in (demo only).
    if created:
        for h in StageHistory.objects.filter(opportunity__external_id__startswith="demo-", note="Created"):
            h.at = h.at - dt.timedelta(days=20 + h.opportunity_id % 40)
            h.save(update_fields=["at"])
    lost = Opportunity.objects.filter(external_id__startswith="demo-", status=OpportunityStatus.LOST).count()
    return [f"crm: {new_accounts} accounts and {created} deals created ({lost} lost in the demo pipeline)"]
