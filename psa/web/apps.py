from django.apps import AppConfig
from django.db.models.signals import pre_save


class WebConfig(AppConfig):
    name = "psa.web"
    label = "web"
    verbose_name = "PSA web"

    def ready(self) -> None:
        from psa.core.models import Event
        from psa.web.correlation import fill_correlation_id

        pre_save.connect(fill_correlation_id, sender=Event, dispatch_uid="psa.web.correlation")
