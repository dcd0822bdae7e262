"""Create the demo firm: one login per persona, then each app's demo data. Safe to run again; changes nothing
on a database that holds data other than the demo's (psa.web.demo), and says so even with --quiet.

Users are created only here, never by migrations. Passwords are set when a user is first created; run with
--reset-passwords to set them back to the demo password.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from psa.web.demo import DEMO_PASSWORD, DEMO_USERS, DemoNotSeeded, seed_all


class Command(BaseCommand):
    help = "Create or complete the demo data (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--reset-passwords", action="store_true", help="set demo users' passwords again")
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, **options):
        try:
            with transaction.atomic():
                report = seed_all(reset_passwords=options["reset_passwords"])
        except DemoNotSeeded as exc:
            self.stdout.write(self.style.WARNING(str(exc)))
            return
        if options["quiet"]:
            return
        for line in report:
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"Demo logins (password: {DEMO_PASSWORD}):"))
        for username, _first, _last, role in DEMO_USERS:
            self.stdout.write(f"  {role.label:<16} {username}")
