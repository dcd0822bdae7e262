"""Import one go-live file: `manage.py golive_import --golive <id> --kind <kind> --file <path> [--apply]`.

Without --apply it is the dry run: every row is checked, each bad one printed with its rule, and nothing is
written. With --apply the file is applied all or nothing (refused as a whole when any row is bad). The acting user
is the go-live's creator unless --user names another (finance or administrator); the same service as the pages.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from billing.models import GoLive
from billing.services.golive import IMPORTERS, golive_import
from psa.core.exceptions import DomainError


class Command(BaseCommand):
    help = "Check (dry run) or apply one go-live import file (CSV or XLSX)."

    def add_arguments(self, parser):
        parser.add_argument("--golive", type=int, required=True, help="the go-live's id")
        parser.add_argument("--kind", required=True, choices=list(IMPORTERS), help="what the file holds")
        parser.add_argument("--file", required=True, help="path of the CSV or XLSX file")
        parser.add_argument("--apply", action="store_true", help="apply the file (default: dry run only)")
        parser.add_argument("--user", help="username acting (default: the go-live's creator)")

    def handle(self, *args, **options):
        golive = GoLive.objects.select_related("created_by").filter(pk=options["golive"]).first()
        if golive is None:
            raise CommandError(f"No go-live with id {options['golive']}.")
        user = golive.created_by
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
        if user is None:
            raise CommandError("No acting user: name one with --user.")
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file at {path}.")
        try:
            report = golive_import(
                golive=golive,
                kind=options["kind"],
                file=path.read_bytes(),
                file_name=path.name,
                user=user,
                dry_run=not options["apply"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        for row in report.rows:
            where = f"row {row.row}" if row.row else "file"
            if row.action == "error":
                self.stdout.write(f"{where}: REFUSED [{row.rule}] {row.reason}")
            elif options["verbosity"] > 1:
                self.stdout.write(f"{where}: {row.action} {row.external_id} {row.reason}")
        for note in report.notes:
            self.stdout.write(note)
        verb = "Applied" if options["apply"] and not report.errors else "Checked"
        self.stdout.write(f"{verb} {len(report.rows)} rows: {report.errors} refused.")
        if report.errors:
            raise CommandError(f"{report.errors} row(s) refused; nothing was written.")
