"""Django settings for the django-post-office peer baseline (bench/drivers/post_office.py).

Only post_office is installed: the peer must not pay for leadfunnel's apps, and leadfunnel's
settings must not change how the peer sends. Its database (DATABASE_URL, a name containing
"bench") and the SMTP sink (POST_OFFICE_SMTP_PORT) are the bench's. Mail goes through
Django 6.1's MAILERS with the same SMTP options leadfunnel's EMAIL_URL gives the workers.
"""

import os
import urllib.parse

_database = urllib.parse.urlsplit(os.environ["DATABASE_URL"])

SECRET_KEY = "bench-only-secret-key-for-the-post-office-peer-never-used-elsewhere"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = ["post_office"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _database.path.lstrip("/"),
        "USER": urllib.parse.unquote(_database.username or ""),
        "PASSWORD": urllib.parse.unquote(_database.password or ""),
        "HOST": _database.hostname or "",
        "PORT": str(_database.port or ""),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# post_office renders subject and bodies as Django templates when it queues them.
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates"}]
MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": os.environ.get("POST_OFFICE_SMTP_HOST", "127.0.0.1"),
            "port": int(os.environ["POST_OFFICE_SMTP_PORT"]),
            "timeout": 15,
        },
    }
}
# post_office's defaults (BATCH_SIZE 100, THREADS_PER_PROCESS 5, LOG_LEVEL 2, priority
# medium) are left alone: the figure is the library as its users run it.
POST_OFFICE: dict[str, object] = {}
