from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        # Registers the billing tasks with Celery in every process, the web included: services enqueue them by
        # name (billing.jobs) and an eager run must find them. Here because tasks import models (app registry).
        import billing.tasks  # noqa: F401
