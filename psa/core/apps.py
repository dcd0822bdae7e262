from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "psa.core"
    label = "core"
    verbose_name = "PSA kernel"

    def ready(self) -> None:
        # Register the outbox handlers that live in kernel modules (email is in psa.core.outbox).
        from psa.core import webhooks  # noqa: F401
