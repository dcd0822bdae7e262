"""The closed-won handoff: one service, one transaction, idempotent, all-or-nothing."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from crm.choices import BillingModel, OpportunityStatus
from crm.models import Opportunity
from projects import services
from projects.models import Contract, Milestone, Project, ResourceRequest, Task
from psa.core.exceptions import InvalidTransition, MissingFields, PermissionDeniedError
from tests.crm.factories import END, START, AccountFactory, make_deal
from tests.factories import UserFactory
from tests.projects.factories import make_template

pytestmark = pytest.mark.django_db


def test_winning_a_ready_deal_creates_contract_project_tasks_milestones_and_requests():
    make_template()
    deal = make_deal()
    result = services.opportunity_win(opportunity_id=deal.pk, by=deal.owner)

    assert result.created
    contract, project = result.contract, result.project
    assert [(cl.billing_model, cl.price) for cl in contract.lines.all()] == [
        (BillingModel.TIME_AND_MATERIALS, Decimal("15000.00")),
        (BillingModel.FIXED_FEE, Decimal("5000.00")),
    ]
    assert contract.payment_terms_days == 30 and contract.start_date == START and contract.end_date == END
    assert project.code == f"IMP-{deal.pk:05d}"
    assert project.budget_amount == Decimal("20000.00")
    assert project.budget_hours == Decimal("100.00")
    assert [(t.name, t.budget_hours) for t in project.tasks.all()] == [
        ("Analysis", Decimal("20.00")),
        ("Build", Decimal("60.00")),
        ("Go-live", Decimal("20.00")),
    ]
    assert sorted(m.name for m in project.milestones.all()) == ["Go-live review", "Kick-off"]
    request = project.resource_requests.get()
    assert (request.role.code, request.hours, request.start_date, request.end_date) == ("senior", 100, START, END)
    deal.refresh_from_db()
    assert deal.status == OpportunityStatus.WON and deal.probability == 100 and deal.stage.name == "Won"
    assert deal.history.last().to_status == OpportunityStatus.WON


def test_milestone_lines_become_project_milestones_with_amounts():
    make_template()
    deal = make_deal(ready=True)
    from crm import services as crm_services

    crm_services.opportunity_line_add(
        opportunity_id=deal.pk,
        by=deal.owner,
        description="Phases",
        billing_model=BillingModel.MILESTONE,
        price=Decimal("3000.00"),
        milestones=[
            {"name": "Design signed off", "amount": Decimal("1000.00"), "due_date": START},
            {"name": "Delivered", "amount": Decimal("2000.00"), "due_date": END},
        ],
    )
    project = services.opportunity_win(opportunity_id=deal.pk, by=deal.owner).project
    billed = project.milestones.filter(amount__gt=0).order_by("due_date")
    assert [(m.name, m.amount) for m in billed] == [
        ("Design signed off", Decimal("1000.00")),
        ("Delivered", Decimal("2000.00")),
    ]
    assert all(m.contract_line.billing_model == BillingModel.MILESTONE for m in billed)
    assert project.budget_amount == Decimal("23000.00")


def test_winning_twice_returns_the_same_contract_and_project():
    make_template()
    deal = make_deal()
    first = services.opportunity_win(opportunity_id=deal.pk, by=deal.owner)
    second = services.opportunity_win(opportunity_id=deal.pk, by=deal.owner)
    assert not second.created
    assert second.contract.pk == first.contract.pk and second.project.pk == first.project.pk
    assert Contract.objects.count() == 1 and Project.objects.count() == 1
    assert ResourceRequest.objects.count() == 1


def test_a_win_with_missing_fields_lists_every_one_and_creates_nothing():
    make_template()
    account = AccountFactory(legal_name="", billing_email="")
    deal = make_deal(account=account, ready=False, payment_terms_days=None)
    from crm import services as crm_services

    Opportunity.objects.filter(pk=deal.pk).update(payment_terms_days=None)
    crm_services.opportunity_line_add(opportunity_id=deal.pk, by=deal.owner, description="Something")
    crm_services.opportunity_line_add(
        opportunity_id=deal.pk, by=deal.owner, description="Hours", billing_model=BillingModel.TIME_AND_MATERIALS
    )

    with pytest.raises(MissingFields) as exc:
        services.opportunity_win(opportunity_id=deal.pk, by=deal.owner)

    assert set(exc.value.fields) == {
        "account.legal_name",
        "account.billing_email",
        "service_start",
        "service_end",
        "payment_terms_days",
        "service_type",
        "lines[1].billing_model",
        "lines[2].rate",
        "lines[2].hours",
        "amount",
    }
    assert exc.value.status == 400
    assert Contract.objects.count() == Project.objects.count() == Task.objects.count() == 0
    assert Milestone.objects.count() == 0
    deal.refresh_from_db()
    assert deal.status == OpportunityStatus.OPEN


def test_a_win_needs_a_template_for_the_service_type():
    deal = make_deal()
    with pytest.raises(MissingFields) as exc:
        services.opportunity_win(opportunity_id=deal.pk, by=deal.owner)
    assert "service_type" in exc.value.fields
    assert Project.objects.count() == 0


def test_another_sales_rep_may_not_win_someone_elses_deal():
    make_template()
    deal = make_deal()
    with pytest.raises(PermissionDeniedError):
        services.opportunity_win(opportunity_id=deal.pk, by=UserFactory(roles=["sales"]))
    assert Contract.objects.count() == 0


def test_a_sales_manager_may_win_someone_elses_deal():
    from django.contrib.auth.models import Permission

    make_template()
    deal = make_deal()
    manager = UserFactory(roles=["sales"])
    manager.user_permissions.add(Permission.objects.get(codename="manage_pipeline"))
    assert services.opportunity_win(opportunity_id=deal.pk, by=manager).created


def test_a_lost_deal_cannot_be_won():
    from crm import services as crm_services

    make_template()
    deal = make_deal()
    crm_services.opportunity_lose(opportunity_id=deal.pk, by=deal.owner, reason="Budget cut")
    with pytest.raises(InvalidTransition):
        services.opportunity_win(opportunity_id=deal.pk, by=deal.owner)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_wins_create_exactly_one_contract_and_one_project():
    make_template()
    deal = make_deal()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def win():
        try:
            barrier.wait(timeout=10)
            results.append(services.opportunity_win(opportunity_id=deal.pk, by=deal.owner))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=win) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert errors == []
    assert sorted(r.created for r in results) == [False, True]
    assert len({r.contract.pk for r in results}) == 1
    assert Contract.objects.count() == 1
    assert Project.objects.count() == 1
    assert ResourceRequest.objects.count() == 1
    assert Opportunity.objects.get(pk=deal.pk).history.filter(to_status=OpportunityStatus.WON).count() == 1
