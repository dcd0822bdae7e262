"""Demo staffing and time: 32 consultants (plus the `consultant` login) with roles, skills, cost rates and
some leave; four delivery engagements won through the handoff that started 100 days ago; allocations; and
three months of time and expenses. Older weeks are approved (rates copied), last week is partly waiting for
approval, some consultants have not logged last week at all (the missing-time list). Idempotent: does
nothing once the demo consultants exist. Everything goes through the services."""

import datetime as dt
import random
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from crm import services as crm_services
from crm.choices import BillingModel, ServiceType
from crm.models import Account, DeliveryRole, Opportunity, Stage
from projects import services
from projects.choices import EntryStatus
from projects.models import Consultant, Contract, Expense, Project, Task, TimeEntry
from projects.services import expenses as expense_services
from projects.services import staffing
from projects.services import time as ts
from psa.core.dates import week_start
from psa.core.models import LegalEntity

FIRST = ["Ada", "Ben", "Chloe", "Dev", "Elif", "Farid", "Greta", "Hugo", "Ines", "Jonas", "Kira", "Luca",
         "Maya", "Nils", "Olga", "Pavel", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wim", "Xena",
         "Yusuf", "Zoe", "Arne", "Bea", "Cem", "Dana", "Emil", "Fay"]  # fmt: skip
LAST = ["Novak", "Berg", "Costa", "Dahl", "Engel", "Fischer", "Grant", "Horn", "Ito", "Jensen", "Keller", "Lund"]
SKILLS = ["Python", "Django", "PostgreSQL", "Data modelling", "Cloud", "Change management", "Power BI", "SAP FI"]
ENGAGEMENTS = [
    ("demo-time-1", "Data platform build", ["senior", "data-engineer", "consultant"]),
    ("demo-time-2", "Finance transformation", ["engagement-manager", "consultant", "senior"]),
    ("demo-time-3", "Cloud migration", ["architect", "data-engineer", "consultant"]),
    ("demo-time-4", "Reporting rollout", ["consultant", "senior", "architect"]),
]
CONSULTANTS = 32
# Each engagement is sold for what its team delivers over its 23 weeks (about 7,000 h: 33 people, 36 h a week,
# over four engagements), so its backlog runs down with the work instead of being used up in the first weeks.
MISSING = {3, 11, 19, 27}  # these logged nothing last week
# Consultants employed by the UK and US entities (psa.core.demo), staffed on the default entity's projects like
# everyone else: their hours are work across entities.
EMPLOYERS = {1: "UK", 8: "UK", 15: "UK", 5: "US", 22: "US"}


def won_on(result, day: dt.date) -> None:
    """Date a demo deal just won through the handoff as if it had closed, and its contract been signed, on `day`
    (before its work started), so the demo's history is consistent: no work before the deal closed, no revenue
    before the contract was signed. Demo only: a real win is dated when it happens."""
    at = timezone.make_aware(dt.datetime.combine(day, dt.time(11, 0)))
    Opportunity.objects.filter(pk=result.contract.opportunity_id).update(closed_at=at)
    Contract.objects.filter(pk=result.contract.pk).update(signed_at=at)


def _engagements(admin, sales, pm, roles, start, end) -> list[Project]:
    accounts = list(Account.objects.filter(currency="EUR").exclude(legal_name="").order_by("id")[:4])
    if not accounts:
        return []
    stage = Stage.objects.filter(kind="open").order_by("-order").first()
    projects = []
    for i, (ext, name, codes) in enumerate(ENGAGEMENTS):
        opp = Opportunity.objects.filter(external_id=ext).first()
        if opp is None:
            demand = [
                {"role": roles[c], "hours": Decimal("2300"), "start_date": start, "end_date": end}
                for c in codes
                if c in roles
            ]
            opp = crm_services.opportunity_create(
                by=admin, owner=sales, account=accounts[i % len(accounts)], name=name, expected_close_date=start,
                stage=stage, service_start=start, service_end=end, service_type=ServiceType.IMPLEMENTATION,
                delivery_manager=pm, external_id=ext,
                lines=[{"description": "Delivery team, time and materials", "role_demands": demand,
                        "billing_model": BillingModel.TIME_AND_MATERIALS, "hours": Decimal("7000.00"),
                        "rate": Decimal("140.0000")}],
            )  # fmt: skip
        result = services.opportunity_win(opportunity_id=opp.pk, by=sales)
        if result.created:
            won_on(result, start - dt.timedelta(days=14))
        project = result.project
        if project.status == "planned":
            services.project_transition(project_id=project.pk, to_status="active", by=pm)
        projects.append(project)
    return projects


def _user(username: str, first: str, last: str, group: Group):
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username, defaults={"first_name": first, "last_name": last, "email": f"{username}@northwind.example"}
    )
    if created:
        user.set_unusable_password()  # only the `consultant` login signs in; the others fill the firm
        user.save()
        user.groups.add(group)
    return user


def seed() -> list[str]:
    User = get_user_model()
    admin, sales, pm = (User.objects.filter(username=u).first() for u in ("admin", "sales", "pm"))
    if admin is None or pm is None or sales is None:
        return ["time: demo users missing, skipped"]
    if Consultant.objects.filter(user__username="c01").exists():
        return ["time: demo consultants already there"]
    roles = {r.code: r for r in DeliveryRole.objects.all()}
    if not roles:
        return ["time: no delivery roles, skipped"]
    rng = random.Random(2026)
    today = timezone.localdate()
    this_monday = week_start(today)
    first_monday = this_monday - dt.timedelta(weeks=13)
    with transaction.atomic():
        projects = _engagements(admin, sales, pm, roles, first_monday, this_monday + dt.timedelta(weeks=10))
        if not projects:
            return ["time: no EUR accounts to engage, skipped"]
        group = Group.objects.get(name="consultant")
        employers = {e.code: e for e in LegalEntity.objects.filter(code__in=EMPLOYERS.values())}
        people = []
        carl = User.objects.filter(username="consultant").first()
        role_codes = [
            c for c in ("consultant", "senior", "data-engineer", "architect", "engagement-manager") if c in roles
        ]
        for i in range(CONSULTANTS + 1):
            if i == CONSULTANTS:
                if carl is None:
                    break
                user = carl
            else:
                user = _user(f"c{i + 1:02d}", FIRST[i], LAST[i % len(LAST)], group)
            consultant = staffing.consultant_create(
                by=admin, user=user, role=roles[role_codes[i % len(role_codes)]],
                weekly_capacity=Decimal("32") if i % 9 == 4 else Decimal("40"),
                utilization_target=rng.choice([70, 75, 80, 85]),
                skills={s: rng.randint(2, 5) for s in rng.sample(SKILLS, 3)},
                cost_rate=Decimal(rng.choice(["55", "62", "70", "78", "85"])), cost_from=dt.date(2025, 1, 1),
                entity=employers.get(EMPLOYERS.get(i, "")),
            )  # fmt: skip
            mine = [projects[i % len(projects)]] + ([projects[(i + 1) % len(projects)]] if i % 3 == 0 else [])
            for j, project in enumerate(mine):
                assert project.end_date is not None  # demo projects end
                staffing.allocation_create(
                    by=pm, project_id=project.pk, consultant_id=consultant.pk,
                    hours_per_week=Decimal("24") if len(mine) > 1 and j == 0 else Decimal("16") if j else Decimal("36"),
                    start_date=first_monday, end_date=project.end_date, kind="hard", confirm_overbooking=True,
                )  # fmt: skip
            if i % 7 == 2:  # a week of leave six weeks ago
                off = this_monday - dt.timedelta(weeks=6)
                staffing.time_off_add(
                    by=pm, consultant_id=consultant.pk, start_date=off, end_date=off + dt.timedelta(days=4)
                )
            people.append((i, consultant, mine))
        # Three months of time: 13 weeks, weekdays, 7-9 h a day split over the consultant's projects.
        specs = []
        for i, consultant, mine in people:
            on_leave = this_monday - dt.timedelta(weeks=6) if i % 7 == 2 else None
            for w in range(13):
                monday = first_monday + dt.timedelta(weeks=w)
                if w == 12 and i in MISSING:
                    continue
                if monday == on_leave:
                    continue
                for d in range(5):
                    day = monday + dt.timedelta(days=d)
                    total = Decimal(rng.choice(["7.5", "8", "8", "8", "8.5", "9"]))
                    tasks: list[Task | None] = list(mine[0].tasks.all()) or [None]
                    if len(mine) > 1:
                        first = (total * Decimal("0.6")).quantize(Decimal("0.5"))
                        parts = [(mine[0], first), (mine[1], total - first)]
                    else:
                        parts = [(mine[0], total)]
                    for project, hours in parts:
                        ptasks = list(project.tasks.all()) or tasks
                        task = ptasks[(w // 3) % len(ptasks)]
                        note = rng.choice(["", "", "Workshop", "Build", "Review", "Client call"])
                        specs.append(
                            ts.EntrySpec(consultant.pk, project.pk, task.pk if task else None, day, hours, note=note)
                        )
        ts.time_entries_bulk_create(by=admin, specs=specs)
        # Weeks 0..11 submitted and approved; last week submitted by half (waiting for the PM), drafts for the
        # others, nothing at all from the MISSING four.
        last_week = first_monday + dt.timedelta(weeks=12)
        for _i, consultant, _mine in people:
            for w in range(12):
                if TimeEntry.objects.filter(consultant=consultant, date__gte=first_monday + dt.timedelta(weeks=w),
                                            date__lt=first_monday + dt.timedelta(weeks=w + 1)).exists():  # fmt: skip
                    ts.timesheet_submit(
                        by=admin, consultant_id=consultant.pk, week=first_monday + dt.timedelta(weeks=w)
                    )
        ids = list(TimeEntry.objects.filter(status=EntryStatus.SUBMITTED).order_by("pk").values_list("pk", flat=True))
        for k in range(0, len(ids), 2000):
            ts.time_entries_approve(by=pm, entry_ids=ids[k : k + 2000])
        for i, consultant, _mine in people:
            if i % 2 == 0 and i not in MISSING:
                ts.timesheet_submit(by=admin, consultant_id=consultant.pk, week=last_week)
        # Expenses: a trip every few weeks, meals under the receipt threshold; older ones approved.
        expense_ids = []
        for _i, consultant, mine in people:
            for w in (1, 5, 9, 12):
                day = first_monday + dt.timedelta(weeks=w, days=1)
                meal = expense_services.expense_create(
                    by=admin, consultant_id=consultant.pk, project_id=mine[0].pk, day=day, category="meals",
                    amount=Decimal(rng.choice(["12.40", "18.90", "22.00"])), currency=mine[0].currency,
                    description="Team lunch with the client",
                )  # fmt: skip
                expense_ids.append((w, meal.pk))
        by_consultant: dict[int, list[int]] = {}
        owners = dict(Expense.objects.filter(pk__in=[pk for _w, pk in expense_ids]).values_list("pk", "consultant_id"))
        for _w, pk in expense_ids:
            by_consultant.setdefault(owners[pk], []).append(pk)
        for cid, pks in by_consultant.items():
            expense_services.expenses_submit(by=admin, consultant_id=cid, expense_ids=pks)
        old = [pk for w, pk in expense_ids if w < 12]
        expense_services.expenses_approve(by=pm, expense_ids=old)
    return [f"time: {len(people)} consultants, {len(specs)} time entries over 13 weeks, {len(expense_ids)} expenses"]
