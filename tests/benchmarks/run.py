"""`make bench`: run every workload at BENCH_SIZE on a fresh PostgreSQL database, print a table of ratios
against raw-SQL baselines, and write tests/benchmarks/results/latest.json.

Usage: BENCH_SIZE=S|M|L [BENCH_ONLY="workload ..."] python -m tests.benchmarks.run [workload ...]
"""

import importlib
import json
import os
import pkgutil
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
# At L (5,000 consultants, 10 million time entries, 30 million journal lines) only the records the growth checks
# need run by default: the others' generators stop at M.
L_RECORDS = ["invoice_run", "trial_balance", "time_entries_api"]


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
    names = argv or only or (L_RECORDS if size == "L" else sorted(m.name for m in pkgutil.iter_modules(pkg.__path__)))
    records = []
    started = time.perf_counter()
    for name in names:
        module = importlib.import_module(f"tests.benchmarks.workloads.{name}")
        print(f"running {name} at size {size} ...", flush=True)
        t0 = time.perf_counter()
        records.extend(module.run(size))
        print(f"  {name} took {time.perf_counter() - t0:.1f} s (load included)", flush=True)
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
    print_growth(size, records)
    return 0


def print_growth(size: str, records: list) -> None:
    """Store this size's per-unit figures (results/growth-<size>.json, merged by record so a BENCH_ONLY run keeps
    the others') and print their ratios over each smaller size's stored figures: the growth checks."""
    from tests.benchmarks.harness import SIZE_ORDER, growth

    by_size = {}
    for s in SIZE_ORDER:
        path = RESULTS / f"growth-{s}.json"
        by_size[s] = json.loads(path.read_text()) if path.exists() else {}
    by_size[size].update({r.name: r.units for r in records if r.units})
    (RESULTS / f"growth-{size}.json").write_text(json.dumps(by_size[size], indent=2) + "\n")
    checks = growth(by_size, size)
    in_run = [r for r in records if r.name.endswith(("_growth", "_deep"))]
    if not checks and not in_run:
        return
    print(f"\ngrowth (goal <= {checks[0].goal if checks else 1.3}: the unit cost stays flat as the firm grows)")
    for g in checks:
        mark = "" if g.ok else "  << over goal"
        print(f"  {g.record:<24} {g.unit:<22} {g.size} / {g.than:<5} {g.ratio:>7.2f}{mark}")
    for r in in_run:  # records that are growth ratios themselves (a bigger ledger, a deeper page)
        mark = "" if r.ok else "  << over goal"
        print(f"  {r.name:<24} {'big / small':<22} {r.size:<10} {r.ratio:>7.2f}{mark}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
