"""pipeline_forecast: the weighted pipeline by close month (crm.selectors.forecast_by_month, the query behind
the forecast page and chart) against one hand-written SQL query on the same 5,000 opportunities (size S;
tiny 500, M 50,000). The notes carry the board and list query counts at 50 and at the full size, which must
be equal."""

from django.core.paginator import Paginator
from django.db import connection

from crm.models import Opportunity
from crm.selectors import board, forecast_by_month, opportunity_list
from tests.benchmarks.gen_crm import OPPORTUNITIES, crm_load, crm_truncate
from tests.benchmarks.harness import Record, timed
from tests.querycount import count_queries

RAW = """
SELECT date_trunc('month', expected_close_date)::date AS month, COUNT(*), SUM(amount),
       SUM(ROUND(amount * probability / 100.0, 2))
FROM crm_opportunity WHERE status = 'open'
GROUP BY 1 ORDER BY 1
"""


def raw_forecast():
    with connection.cursor() as cursor:
        cursor.execute(RAW)
        return cursor.fetchall()


def _ours():
    return forecast_by_month(Opportunity.objects.all())


class _Admin:
    """A stand-in user for the selectors' role check (admin sees the whole pipeline)."""

    is_authenticated = True
    is_active = True
    is_superuser = True
    pk = 0
    _psa_roles = None

    def __init__(self):
        from psa.core.roles import Role

        self._psa_roles = frozenset({Role.ADMIN})


def _pages() -> None:
    """What the board and the first list page read."""
    qs = opportunity_list(_Admin())
    for col in board(qs):
        list(col.cards)
    page = Paginator(qs.order_by("expected_close_date", "pk"), 25).get_page(1)
    [(o.account.name, o.owner.username, o.stage.name) for o in page]


def run(size: str) -> list[Record]:
    crm_load(size, 50)
    small_queries, _ = count_queries(_pages)
    n = crm_load(size)
    big_queries, _ = count_queries(_pages)
    assert small_queries == big_queries > 0, (small_queries, big_queries)
    ours_rows = [(r["month"], r["deals"], r["pipeline"], r["weighted"]) for r in _ours()]
    assert ours_rows == [tuple(r) for r in raw_forecast()], "ours and the baseline must agree"
    ours, queries = timed(_ours, repeat=9)
    baseline, _ = timed(raw_forecast, repeat=9)
    crm_truncate()
    assert n == OPPORTUNITIES[size]
    return [
        Record(
            name="pipeline_forecast",
            size=size,
            ours_s=ours,
            baseline_s=baseline,
            goal_ratio=1.5,
            queries=queries,
            notes=f"{n} opportunities; board+list queries at 50: {small_queries}, at {n}: {big_queries}",
        )
    ]
