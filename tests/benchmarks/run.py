"""`make bench`: run every workload at BENCH_SIZE on a fresh PostgreSQL database, print a table of ratios
against raw-SQL baselines, and write tests/benchmarks/results/latest.json.

Usage: BENCH_SIZE=S|M [BENCH_ONLY="workload ..."] python -m tests.benchmarks.run [workload ...]
"""

import importlib
import json
import os
import pkgutil
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("make bench needs PostgreSQL: set DATABASE_URL or run PostgreSQL on 127.0.0.1:5432.")
    base, _, name = url.rpartition("/")
    name = name.split("?")[0] or "psa"
    bench_name = f"{name}_bench"
    import psycopg

    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{bench_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{bench_name}"')
    return f"{base}/{bench_name}"


def main(argv: list[str]) -> int:
    size = os.environ.get("BENCH_SIZE", "S")
    os.environ["DATABASE_URL"] = _bench_database_url()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "psa.settings")
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("PSA_DEMO_FIRM", "true")  # the bench firm invoices as the demo seller
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    import tests.benchmarks.workloads as pkg

    only = os.environ.get("BENCH_ONLY", "").replace(",", " ").split()  # BENCH_ONLY=revenue_run: just that one
    names = argv or only or sorted(m.name for m in pkgutil.iter_modules(pkg.__path__))
    records = []
    started = time.perf_counter()
    for name in names:
        module = importlib.import_module(f"tests.benchmarks.workloads.{name}")
        print(f"running {name} at size {size} ...", flush=True)
        records.extend(module.run(size))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "latest.json"
    out.write_text(json.dumps([r.as_dict() for r in records], indent=2) + "\n")

    header = (
        f"{'record':<24} {'size':<5} {'ours s':>9} {'baseline s':>11} {'ratio':>7} {'goal':>6} {'queries':>8}  notes"
    )
    print()
    print(header)
    print("-" * len(header))
    for r in records:
        mark = "" if r.ok else "  << over goal"
        print(
            f"{r.name:<24} {r.size:<5} {r.ours_s:>9.4f} {r.baseline_s:>11.4f} {r.ratio:>7.2f} {r.goal_ratio:>6.2f} "
            f"{r.queries if r.queries is not None else '-':>8}  {r.notes}{mark}"
        )
    print(f"\n{len(records)} records in {time.perf_counter() - started:.1f} s -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
