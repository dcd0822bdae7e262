"""A generated payment history for the prediction's back-test: clients with their own habits (some pay early,
some a fortnight late, some two months late), larger invoices paid a little later, August and December slower,
and noise. Deterministic for a seed."""

from datetime import date, timedelta

import numpy as np

from billing.selectors.payment_prediction import History


def generated_history(*, clients: int = 12, months: int = 24, seed: int = 7, start: date = date(2024, 1, 1)) -> History:
    rng = np.random.default_rng(seed)
    habit = rng.choice([-4.0, 2.0, 10.0, 18.0, 45.0], size=clients, p=[0.2, 0.3, 0.2, 0.2, 0.1])
    scale = rng.uniform(3000, 40000, size=clients)
    rows = []
    invoice = 0
    for month in range(months):
        first = date(start.year + (start.month - 1 + month) // 12, (start.month - 1 + month) % 12 + 1, 1)
        for client in range(clients):
            for _ in range(int(rng.integers(1, 4))):
                invoice += 1
                issue = first + timedelta(days=int(rng.integers(0, 28)))
                terms = int(rng.choice([14, 30, 30, 45]))
                due = issue + timedelta(days=terms)
                amount = float(scale[client] * rng.lognormal(0, 0.6))
                late = habit[client] + 6.0 * np.log(amount / scale[client] + 1.0)
                late += 12.0 if due.month in (8, 12) else 0.0
                late += rng.laplace(0, 5)
                paid = due + timedelta(days=round(late))
                rows.append((invoice, client + 1, issue, due, paid, amount, terms, 0))
    return History.from_rows(rows)
