"""Property tests (hypothesis): random balanced specs always post and keep the trial balance at zero;
unbalanced ones never post; random post/reverse/close/reopen sequences keep every invariant.

Each example runs in a savepoint that is rolled back, so examples do not see each other's postings.
"""

from datetime import date, timedelta
from decimal import Decimal
from itertools import count, pairwise

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.models import AccountingPeriod, JournalEntry, JournalLine
from ledger.selectors import balance_sheet, pnl, trial_balance
from ledger.services import EntrySpec, LineSpec, entry_post, entry_reverse, period_reopen
from psa.core.exceptions import DomainError, ValidationFailed
from tests.ledger.factories import close_month, make_periods

pytestmark = pytest.mark.django_db

CODES = ["1000", "1200", "1500", "2300", "3000", "3100", "4000", "4100", "5000", "5100", "6000", "6200"]
START = date(2026, 1, 1)
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_keys = count(1)

cents = st.integers(min_value=1, max_value=10_000_000_00)


@st.composite
def splits(draw, total: int, parts: int) -> list[int]:
    """`total` cents in `parts` positive pieces."""
    if parts == 1 or total < parts:
        return [total]
    cuts = sorted(draw(st.sets(st.integers(1, total - 1), min_size=parts - 1, max_size=parts - 1)))
    points = [0, *cuts, total]
    return [b - a for a, b in pairwise(points)]


@st.composite
def balanced_specs(draw) -> EntrySpec:
    total = draw(cents)
    debits = draw(splits(total, draw(st.integers(1, 4))))
    credits = draw(splits(total, draw(st.integers(1, 4))))
    lines = [LineSpec(account=draw(st.sampled_from(CODES)), debit=Decimal(d) / 100) for d in debits]
    lines += [LineSpec(account=draw(st.sampled_from(CODES)), credit=Decimal(c) / 100) for c in credits]
    on = START + timedelta(days=draw(st.integers(0, 364)))
    return EntrySpec(date=on, memo="property", lines=tuple(draw(st.permutations(lines))))


@pytest.fixture
def year(db):
    return make_periods()


def assert_invariants(at: date = date(2026, 12, 31)) -> None:
    tb = trial_balance(at=at)
    assert tb.balanced, "the trial balance nets to zero"
    raw = JournalLine.objects.filter(date__lte=at).values("account__code").annotate(d=Sum("debit"), c=Sum("credit"))
    from_lines = {r["account__code"]: r["d"] - r["c"] for r in raw if r["d"] != r["c"]}
    assert {r.account.code: r.closing for r in tb.rows if r.closing} == from_lines, "stored balances agree with lines"
    sheet = balance_sheet(at=at)
    assert sheet.balanced
    assert sheet.current_earnings == pnl(start=date(2000, 1, 1), end=at).net_total
    for entry in JournalEntry.objects.all():
        sums = entry.lines.aggregate(d=Sum("debit"), c=Sum("credit"), n=Sum(1))
        assert sums["d"] == sums["c"] == entry.total
    numbers = sorted(int(n.rsplit("-", 1)[1]) for n in JournalEntry.objects.values_list("number", flat=True))
    assert numbers == list(range(1, len(numbers) + 1)), "numbers are gapless"


class Rollback(Exception):
    pass


def isolated(fn) -> None:
    try:
        with transaction.atomic():
            fn()
            raise Rollback
    except Rollback:
        pass


@PROPERTY
@given(entry_spec=balanced_specs())
def test_random_balanced_specs_post_and_keep_the_trial_balance_at_zero(year, entry_spec):
    def run():
        entry = entry_post(spec=entry_spec, key=f"p{next(_keys)}")
        assert entry.total == sum((ln.debit for ln in entry_spec.lines), Decimal(0))
        assert_invariants()

    isolated(run)


@PROPERTY
@given(entry_spec=balanced_specs(), skew=st.integers(min_value=-10_000, max_value=10_000).filter(bool))
def test_unbalanced_specs_never_post(year, entry_spec, skew):
    lines = list(entry_spec.lines)
    i = next(i for i, ln in enumerate(lines) if ln.credit)
    new_credit = lines[i].credit + Decimal(skew) / 100
    if new_credit <= 0:
        new_credit = lines[i].credit + Decimal(abs(skew)) / 100
    lines[i] = LineSpec(account=lines[i].account, credit=new_credit)
    bad = EntrySpec(date=entry_spec.date, memo=entry_spec.memo, lines=tuple(lines))

    def run():
        with pytest.raises(ValidationFailed, match="must balance"):
            entry_post(spec=bad, key=f"u{next(_keys)}")
        assert not JournalEntry.objects.exists() and not JournalLine.objects.exists()

    isolated(run)


operations = st.lists(
    st.one_of(
        st.tuples(st.just("post"), balanced_specs()),
        st.tuples(st.just("reverse"), st.integers(0, 20), st.integers(0, 60)),
        st.tuples(st.just("close")),
        st.tuples(st.just("reopen")),
        st.tuples(st.just("repost"), st.integers(0, 20)),
    ),
    min_size=1,
    max_size=15,
)


@PROPERTY
@given(ops=operations)
def test_random_post_reverse_close_reopen_sequences_keep_every_invariant(year, finance, ops):
    def run():
        posted: list[tuple[str, EntrySpec]] = []
        for op in ops:
            try:
                if op[0] == "post":
                    key = f"s{next(_keys)}"
                    entry_post(spec=op[1], key=key, catch_up=True)
                    posted.append((key, op[1]))
                elif op[0] == "repost" and posted:
                    key, entry_spec = posted[op[1] % len(posted)]
                    before = JournalEntry.objects.count()
                    entry_post(spec=entry_spec, key=key, catch_up=True)
                    assert JournalEntry.objects.count() == before, "a replay posts nothing"
                elif op[0] == "reverse":
                    ids = list(JournalEntry.objects.order_by("pk").values_list("pk", "date"))
                    if ids:
                        entry_id, on = ids[op[1] % len(ids)]
                        entry_reverse(entry_id=entry_id, on=on + timedelta(days=op[2]))
                elif op[0] == "close":
                    first_open = AccountingPeriod.objects.filter(status="open").order_by("start").first()
                    if first_open:
                        close_month(period_id=first_open.pk, by=finance, reason="property")
                elif op[0] == "reopen":
                    last_closed = AccountingPeriod.objects.filter(status="closed").order_by("-start").first()
                    if last_closed:
                        period_reopen(period_id=last_closed.pk, by=finance, reason="property")
            except DomainError:
                pass  # a refusal (reversed twice, no open period left) changes nothing
            assert_invariants()
        reversed_ids = list(JournalEntry.objects.exclude(reverses=None).values_list("reverses_id", flat=True))
        assert len(reversed_ids) == len(set(reversed_ids)), "an entry is reversed at most once"

    isolated(run)
