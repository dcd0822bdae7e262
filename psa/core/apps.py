from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "psa.core"
    label = "core"
    verbose_name = "PSA kernel"
