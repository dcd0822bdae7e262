"""generator_load: the generator's build + COPY of the firm's logins against a bare COPY of the same rows."""

from tests.benchmarks.generator import FirmGenerator, truncate
from tests.benchmarks.harness import Record, timed

TABLES = ("core_apitoken", "auth_user_groups", "auth_user")


def run(size: str) -> list[Record]:
    gen = FirmGenerator(size)
    gen.password_hash
    rows = gen.build_users()

    def clean():
        truncate(*TABLES)

    ours, queries = timed(gen.load_users, setup=clean, repeat=5)
    baseline, _ = timed(lambda: gen.load_rows(rows), setup=clean, repeat=5)
    clean()
    return [
        Record(
            name="generator_load",
            size=size,
            ours_s=ours,
            baseline_s=baseline,
            goal_ratio=1.5,
            queries=queries,
            notes=f"{len(rows.users)} users, {len(rows.memberships)} role memberships, {len(rows.tokens)} tokens",
        )
    ]
