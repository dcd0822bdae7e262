"""time_entries_api_deep: the time-entries API's keyset pagination costs the same deep in the table as on its first
page (issue 24's growth check). Ours = a page about ENTRIES[size] - 1,000 rows in (a cursor positioned near the
oldest entry); baseline = the first page; both the same request (admin, page size 100) through the test client,
so the ratio is the deep page's cost over the first page's. Goal 1.3. L: 10 million entries."""

import time
from base64 import b64encode
from urllib.parse import urlencode

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client

from tests.benchmarks.gen_time import time_load, time_truncate
from tests.benchmarks.harness import Record, timed
from tests.querycount import count_queries

ENTRIES = {"tiny": 5_000, "S": 100_000, "M": 1_000_000, "L": 10_000_000}
URL = "/api/v1/time-entries/"


def deep_cursor(position: int) -> str:
    """The cursor DRF's CursorPagination gives for a page starting after `position` (ordering -id)."""
    return b64encode(urlencode({"p": str(position)}).encode("ascii")).decode("ascii")


def run(size: str) -> list[Record]:
    loading = time.perf_counter()
    n = time_load(size, ENTRIES[size])
    load_s = time.perf_counter() - loading
    admin, _ = get_user_model().objects.get_or_create(
        username="bench-api-admin", defaults={"is_superuser": True, "is_staff": True}
    )
    from django.contrib.auth.models import Group

    from psa.core.roles import Role, ensure_role_groups

    ensure_role_groups()
    admin.groups.add(Group.objects.get(name=Role.ADMIN.value))
    # make bench runs with DEBUG off: a host production allows, over https (no redirect to measure)
    client = Client(SERVER_NAME="127.0.0.1")
    client.force_login(admin)
    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id) FROM projects_timeentry")
        (oldest,) = cursor.fetchone()
    deep = f"{URL}?cursor={deep_cursor(oldest + 1_000)}"

    def get(url: str):
        response = client.get(url, secure=True)
        assert response.status_code == 200, (url, response.status_code)
        return response

    first_ids = [r["id"] for r in get(URL).json()["results"]]
    deep_ids = [r["id"] for r in get(deep).json()["results"]]
    assert len(first_ids) == len(deep_ids) == 100 and deep_ids[0] < oldest + 1_000 < first_ids[-1]
    first_queries, _ = count_queries(lambda: get(URL))
    deep_queries, _ = count_queries(lambda: get(deep))
    first_s, _ = timed(lambda: get(URL), repeat=7)
    deep_s, _ = timed(lambda: get(deep), repeat=7)
    time_truncate()
    return [
        Record(
            name="time_entries_api_deep",
            size=size,
            ours_s=deep_s,
            baseline_s=first_s,
            goal_ratio=1.3,
            queries=deep_queries,
            notes=f"{n:,} entries; page of 100 about {n - 1_000:,} rows in vs the first page; "
            f"{deep_queries} vs {first_queries} queries; entries loaded by COPY in {load_s:.1f} s",
            units={"s_deep_page": deep_s, "s_first_page": first_s},
        )
    ]
