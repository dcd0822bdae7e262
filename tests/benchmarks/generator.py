"""Deterministic, seeded data generator for benchmarks, loading by COPY.

The same seed and size always produce the same rows. Each issue extends the generator with its own entities
(`FirmGenerator.load_*`); every loader builds rows in Python and streams them with COPY, never row by row.
"""

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.contrib.auth.hashers import make_password
from django.db import connection
from knox.crypto import hash_token

SIZES = {
    # tiny: for the smoke test in `make test`. S: CI-sized. M: a 500-consultant firm.
    "tiny": {"consultants": 20, "staff": 10, "client_users": 20},
    "S": {"consultants": 60, "staff": 40, "client_users": 400},
    "M": {"consultants": 500, "staff": 120, "client_users": 4000},
    "L": {"consultants": 5000, "staff": 400, "client_users": 40000},
}
ROLES = ["sales", "project_manager", "consultant", "finance", "admin", "client"]
FIRST = [
    "Ada",
    "Ben",
    "Chloe",
    "Dev",
    "Elif",
    "Femi",
    "Greta",
    "Hugo",
    "Ines",
    "Jon",
    "Kira",
    "Liam",
    "Maya",
    "Noor",
    "Omar",
    "Pia",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Uma",
    "Vik",
    "Wen",
    "Xavi",
    "Yara",
    "Zed",
]
LAST = [
    "Ahn",
    "Berg",
    "Costa",
    "Dahl",
    "Eze",
    "Fox",
    "Gupta",
    "Holm",
    "Ito",
    "Jones",
    "Kaur",
    "Lund",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Park",
    "Quist",
    "Rossi",
    "Silva",
    "Tan",
    "Ueda",
    "Vogel",
    "Wu",
    "Yilmaz",
    "Zhou",
]


@dataclass
class UserRows:
    users: list[tuple]
    memberships: list[tuple]
    tokens: list[tuple]


def copy_rows(table: str, columns: list[str], rows: Iterable[tuple]) -> None:
    """Stream rows into a table with COPY on Django's connection."""
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


TOKEN_COLUMNS = ["id", "digest", "token_key", "user_id", "created", "expiry", "name", "access", "apps"]
TOKEN_EXPIRY = datetime(2099, 1, 1, tzinfo=UTC)

USER_COLUMNS = [
    "id",
    "password",
    "last_login",
    "is_superuser",
    "username",
    "first_name",
    "last_name",
    "email",
    "is_staff",
    "is_active",
    "date_joined",
]


class FirmGenerator:
    def __init__(self, size: str = "S", seed: int = 20261121) -> None:
        self.size = size
        self.counts = SIZES[size]
        self.seed = seed
        self.rng = random.Random(seed)
        self._password = None

    @property
    def password_hash(self) -> str:
        # One hash for every generated login (hashing per user would measure PBKDF2, not loading).
        if self._password is None:
            self._password = make_password("bench-pass-2026", salt="benchsalt0000000")
        return self._password

    def build_users(self, first_id: int = 1_000_000) -> UserRows:
        from psa.core.roles import ensure_role_groups

        ensure_role_groups()
        rng = random.Random(self.seed)
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, name FROM auth_group WHERE name = ANY(%s)", [ROLES])
            groups = {name: gid for gid, name in cursor.fetchall()}
        plan = (
            [("consultant", self.counts["consultants"])]
            + [(r, max(1, self.counts["staff"] // 4)) for r in ("sales", "project_manager", "finance")]
            + [("admin", max(1, self.counts["staff"] - 3 * (self.counts["staff"] // 4)))]
            + [("client", self.counts["client_users"])]
        )
        joined = datetime(2025, 1, 1, tzinfo=UTC)
        users, memberships, tokens = [], [], []
        uid = first_id
        membership_id = first_id
        for role, n in plan:
            for i in range(n):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                username = f"{role[:4]}{i:05d}.{last.lower()}"
                users.append(
                    (
                        uid,
                        self.password_hash,
                        None,
                        role == "admin",
                        username,
                        first,
                        last,
                        f"{username}@bench.example",
                        role == "admin",
                        True,
                        joined,
                    )
                )
                memberships.append((membership_id, uid, groups[role]))
                secret = f"psa_{rng.getrandbits(256):064x}"
                tokens.append(
                    (
                        uid,
                        hash_token(secret),
                        secret[:15],
                        uid,
                        joined,
                        TOKEN_EXPIRY,
                        "Bench integration",
                        "write",
                        "[]",
                    )
                )
                uid += 1
                membership_id += 1
        return UserRows(users, memberships, tokens)

    def load_rows(self, rows: UserRows) -> None:
        copy_rows("auth_user", USER_COLUMNS, rows.users)
        copy_rows("auth_user_groups", ["id", "user_id", "group_id"], rows.memberships)
        copy_rows("core_apitoken", TOKEN_COLUMNS, rows.tokens)
        with connection.cursor() as cursor:
            for table in ("auth_user", "auth_user_groups", "core_apitoken"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")

    def load_users(self) -> UserRows:
        """Build and load the firm's logins: users, role memberships and API tokens."""
        rows = self.build_users()
        self.load_rows(rows)
        return rows


def truncate(*tables: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
