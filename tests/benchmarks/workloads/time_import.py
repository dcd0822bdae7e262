"""time_import: the bulk import of draft time entries (projects.services.time.time_entries_bulk_create — every
rule checked for the whole batch, then written) against a bare COPY of the same rows into the same table. 100k
entries at S and M (tiny: 2,000). Goal: ours within 5x COPY (at least 0.2x its rate)."""

from django.contrib.auth import get_user_model
from django.db import transaction

from projects.services.time import EntrySpec, time_entries_bulk_create
from tests.benchmarks.gen_time import NOW, time_cells, time_truncate
from tests.benchmarks.generator import copy_rows
from tests.benchmarks.harness import Record, paired

ENTRIES = {"tiny": 2_000, "S": 100_000, "M": 100_000}
COLUMNS = ["consultant_id", "project_id", "task_id", "date", "hours", "note", "status", "rejection_reason",
           "billable", "source_key", "created_at", "updated_at"]  # fmt: skip


def _admin():
    User = get_user_model()
    user, _ = User.objects.get_or_create(username="bench-time-admin", defaults={"is_superuser": True})
    if not user.is_superuser:
        user.is_superuser = True
        user.save(update_fields=["is_superuser"])
    return user


def run(size: str) -> list[Record]:
    n = ENTRIES[size]
    cells = time_cells(size, n)
    admin = _admin()
    specs = [EntrySpec(cid, pid, None, day, hours) for cid, pid, day, hours, _b in cells]
    rows = [(cid, pid, None, day, hours, "", "draft", "", False, "", NOW, NOW) for cid, pid, day, hours, _b in cells]

    def ours():
        with transaction.atomic():
            time_entries_bulk_create(by=admin, specs=specs)

    def baseline():
        with transaction.atomic():
            copy_rows("projects_timeentry", COLUMNS, rows)

    timing = paired(ours, baseline, setup=time_truncate, repeat=3)
    time_truncate()
    return [
        Record(
            name="time_import",
            size=size,
            ours_s=timing.ours_s,
            baseline_s=timing.baseline_s,
            goal_ratio=2.0,
            queries=timing.queries,
            round_ratios=timing.round_ratios,
            notes=f"{n} entries, validated (allocation, project dates, 24 h/day) then written; baseline bare COPY",
        )
    ]
