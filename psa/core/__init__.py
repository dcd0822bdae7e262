"""The shared kernel: money, errors, roles and permissions, idempotency, outbox, audit.

It imports no PSA app; every app may import it.
"""
