"""Post a plan of journal entries through django-hordak's API and print the timings as JSON.

Run by the journal_post_vs_hordak workload inside .venv-hordak (django-hordak's own Django):

    HORDAK_DATABASE_URL=postgres://.../psa_hordak .venv-hordak/bin/python tests/benchmarks/hordak/post.py PLAN REPEAT

PLAN is a JSON file: a list of [date, memo, [[account code, debit, credit], ...]] (amounts as strings, "0" for
the empty side). Each repeat empties hordak's tables, then posts every entry as hordak documents it (one
`Transaction` and one `Leg` per line, `Leg.save` validating each and hordak's trigger checking that each
transaction sums to zero) in one database transaction, timed from its start to its commit. Prints
{"times": [...], "transactions": n, "legs": n, "balances": {code: debit - credit}} of the last repeat.
"""

import json
import os
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Sum  # noqa: E402
from djmoney.money import Money  # noqa: E402
from hordak.models import Account, AccountType, Leg, Transaction  # noqa: E402

TYPES = {"1": AccountType.asset, "2": AccountType.liability, "3": AccountType.equity, "4": AccountType.income}


def accounts_ensure(codes: set[str]) -> dict[str, Account]:
    have = {a.code: a for a in Account.objects.filter(code__in=codes)}
    for code in sorted(codes - set(have)):
        have[code] = Account.objects.create(
            name=f"Account {code}", code=code, type=TYPES.get(code[0], AccountType.expense)
        )
    return have


def main(plan_path: str, repeat: int) -> None:
    call_command("migrate", verbosity=0)
    plan = [
        (date.fromisoformat(day), memo, [(code, Decimal(d), Decimal(c)) for code, d, c in lines])
        for day, memo, lines in json.loads(Path(plan_path).read_text())
    ]
    accounts = accounts_ensure({code for _day, _memo, lines in plan for code, _d, _c in lines})
    times = []
    for _ in range(repeat):
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE hordak_leg, hordak_transaction RESTART IDENTITY CASCADE")
        start = time.perf_counter()
        with transaction.atomic():
            for day, memo, lines in plan:
                tx = Transaction.objects.create(date=day, description=memo)
                for code, debit, credit in lines:
                    Leg.objects.create(
                        transaction=tx,
                        account=accounts[code],
                        debit=Money(debit, "EUR") if debit else None,
                        credit=Money(credit, "EUR") if credit else None,
                    )
        times.append(time.perf_counter() - start)
    balances = {
        row["account__code"]: str((row["d"] or 0) - (row["c"] or 0))
        for row in Leg.objects.values("account__code").annotate(d=Sum("debit"), c=Sum("credit")).order_by()
    }
    result = {
        "times": times,
        "transactions": Transaction.objects.count(),
        "legs": Leg.objects.count(),
        "balances": balances,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
