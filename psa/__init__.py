"""PSA: professional-services automation in one Django project.

`psa.core` is the shared kernel (imports no app); `psa.web` and `psa.urls` are the composition layer on top.
"""

from psa.celery import app as celery_app

__all__ = ["celery_app"]
