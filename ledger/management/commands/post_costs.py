"""Post the month's labour cost: `manage.py post_costs --month 2026-11 [--entity CODE]`.

Runs ledger.services.cost_posting in this process (the page and the API enqueue the same run as a job) and prints
what it posted; a project refused for a missing rate is listed, the others post. Safe to run twice: the second
run posts nothing.
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from ledger.models import AccountingPeriod
from ledger.services.cost_posting import cost_posting_run
from psa.core.exceptions import DomainError
from psa.core.models import LegalEntity


def _month(value: str) -> date:
    try:
        return date.fromisoformat(f"{value}-01")
    except ValueError:
        raise CommandError(f"Not a month (YYYY-MM): {value!r}") from None


class Command(BaseCommand):
    help = "Post the labour cost (approved time and expenses) of a month to the general ledger."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="the month, YYYY-MM (earlier months are corrected too)")
        parser.add_argument("--entity", help="only this legal entity's projects (its code)")

    def handle(self, *args, **options):
        start = _month(options["month"])
        period = AccountingPeriod.objects.filter(start=start).first()
        if period is None:
            raise CommandError(f"No accounting period for {start:%Y-%m}: create the periods first.")
        entity_id = None
        if options["entity"]:
            entity_id = LegalEntity.objects.filter(code=options["entity"]).values_list("pk", flat=True).first()
            if entity_id is None:
                raise CommandError(f"No legal entity with code {options['entity']!r}.")
        try:
            run = cost_posting_run(period_id=period.pk, entity_id=entity_id)
        except DomainError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            f"Labour cost {period.label}: run #{run.pk} {run.get_status_display().lower()}, "
            f"{run.projects} projects, {run.entries} entries, {run.amount:,.2f} posted."
        )
        for refused in run.errors or []:
            self.stderr.write(f"  refused {refused.get('project', '')} {refused.get('month', '')}: {refused['error']}")
