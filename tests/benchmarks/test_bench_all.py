"""`make bench` runs every workload one after the other in one database: each must leave nothing behind that
changes a later one (a workload's leftovers once made invoice_run bill another workload's milestones, and two
generators wanted the same role name). The whole sequence at the tiny size, inside `make test`."""

import pkgutil
from importlib import import_module

import pytest

import tests.benchmarks.workloads as workloads

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_every_workload_runs_after_the_others_at_the_tiny_size():
    names = sorted(m.name for m in pkgutil.iter_modules(workloads.__path__))
    assert {"invoice_run", "invoice_pdf", "revenue_run", "exception_scan"} <= set(names)
    seen = []
    for name in names:
        for record in import_module(f"tests.benchmarks.workloads.{name}").run("tiny"):
            assert record.ours_s > 0 and record.baseline_s > 0, (name, record)
            seen.append(record.name)
    assert len(seen) >= len(names)
