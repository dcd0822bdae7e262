from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from billing.close_checks import register

        register()  # the ledger's month-end checklist and price cuts (ledger.selectors.close)
