from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "psa.core"
    label = "core"
    verbose_name = "PSA kernel"

    def ready(self) -> None:
        # Register the outbox handlers that live in kernel modules (email is in psa.core.outbox), and the
        # sign-in hook that decides whether a session owes a second factor (psa.core.mfa).
        from psa.core import labels, mfa, webhooks  # noqa: F401

        # Every model dropdown names users by name and tells apart records that read the same (psa.core.labels).
        labels.install()
