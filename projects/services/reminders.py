"""Missing-time reminders: one email per consultant and week through the outbox (deduplicated by key, so a
re-run of the beat job sends nothing twice)."""

from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from projects.selectors import missing_time
from psa.core.dates import week_start
from psa.core.outbox import outbox_enqueue


@transaction.atomic
def missing_time_remind(*, week: date | None = None) -> int:
    """Queue a reminder for every consultant below their expected hours last week (or `week`)."""
    monday = week_start(week or (timezone.localdate() - timedelta(days=7)))
    sent = 0
    for row in missing_time(week=monday):
        user = row.consultant.user
        if not user.email:
            continue
        outbox_enqueue(
            kind="email",
            dedupe_key=f"missing-time:{row.consultant.pk}:{monday.isoformat()}",
            payload={
                "to": [user.email],
                "subject": f"Timesheet for the week of {monday:%d %b %Y}: {row.missing} h missing",
                "body": (
                    f"Hello {user.first_name or user.get_username()},\n\n"
                    f"{settings.PSA_FIRM_NAME} expected {row.expected} h from you for the week of "
                    f"{monday:%A %d %B %Y}; {row.logged} h are logged. Please complete and submit your "
                    "timesheet.\n"
                ),
            },
        )
        sent += 1
    return sent
