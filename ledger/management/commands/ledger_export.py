"""Export the ledger: `manage.py ledger_export --format beancount|csv --from DATE --to DATE [--output FILE]`.

The beancount file passes `bean-check` (amounts at exactly 2 decimals, balance assertions from our own trial
balance). Without --output the export goes to standard output.
"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from ledger.models import JournalLine
from ledger.selectors.exports import EXPORTERS


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value!r}") from None


class Command(BaseCommand):
    help = "Export the general ledger as beancount or CSV for a date range."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=sorted(EXPORTERS), default="beancount")
        parser.add_argument("--from", dest="start", help="first date (default: the first posting)")
        parser.add_argument("--to", dest="end", help="last date (default: the last posting)")
        parser.add_argument("--output", "-o", help="file to write (default: standard output)")

    def handle(self, *args, **options):
        first = JournalLine.objects.order_by("date").values_list("date", flat=True).first()
        last = JournalLine.objects.order_by("-date").values_list("date", flat=True).first()
        start = _date(options["start"]) if options["start"] else first or date.today()
        end = _date(options["end"]) if options["end"] else last or start
        if end < start:
            raise CommandError("--to must not be before --from.")
        exporter = EXPORTERS[options["format"]][0]
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8", newline="") as out:
                for chunk in exporter(start=start, end=end):
                    out.write(chunk)
            self.stderr.write(f"Wrote {options['output']} ({options['format']}, {start} to {end}).")
        else:
            for chunk in exporter(start=start, end=end):
                self.stdout.write(chunk, ending="")
