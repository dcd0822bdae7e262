from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "psa.web"
    label = "web"
    verbose_name = "PSA web"
