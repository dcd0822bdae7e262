from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "psa.web"
    label = "web"
    verbose_name = "PSA web"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in  # here: the app registry is ready only now

        from psa.web.preferences import on_login  # here: models load once apps are ready

        user_logged_in.connect(on_login, dispatch_uid="psa.web.preferences.on_login")
