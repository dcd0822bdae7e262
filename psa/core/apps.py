from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "psa.core"
    label = "core"
    verbose_name = "PSA kernel"

    def ready(self) -> None:
        # Register the outbox handlers that live in kernel modules (email is in psa.core.outbox), and the
        # sign-in hook that decides whether a session owes a second factor (psa.core.mfa).
        from psa.core import mfa, webhooks  # noqa: F401
