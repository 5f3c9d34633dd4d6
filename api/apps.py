from django.apps import AppConfig


class ApiConfig(AppConfig):
    """The REST API's shared parts: errors, permissions, paging, throttles, idempotency.

    Each app keeps its own endpoints in its `api.py`; `api.urls` gathers them under /api/v1/.
    """

    default_auto_field = "django.db.models.BigAutoField"
    name = "api"
    verbose_name = "API"
