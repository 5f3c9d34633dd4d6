"""leadfunnel settings: one module, everything from the environment.

Defaults run the whole app on a laptop with nothing installed (SQLite, a filesystem
broker, mail written to files). Production and the test suite point DATABASE_URL,
CELERY_BROKER_URL, REDIS_URL and EMAIL_URL at real servers. With DEBUG off (the default)
SECRET_KEY and ALLOWED_HOSTS have no usable default, and `check --deploy` is clean.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import django_stubs_ext
import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

# Lets the code write the type checker's generic forms at run time (`ModelAdmin[Lead]`,
# `ModelForm[Lead]`): classes Django does not make subscriptable itself.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

# `make run` writes var/dev.env (DEBUG=1 and a SECRET_KEY generated once), so that plain
# `manage.py shell`, `createsuperuser` … in that checkout get the settings `make run` has.
# Real environment variables win over the file. A checkout that never ran `make run`, and
# production, have no such file: there DEBUG stays off and SECRET_KEY has no default.
# ENV_FILE names another file; ENV_FILE="" reads none (the test suite sets that, so a
# developer's file cannot change what the tests see).
_DEFAULT_ENV_FILE = VAR_DIR / "dev.env"
ENV_FILE = env.str("ENV_FILE", default=str(_DEFAULT_ENV_FILE))
if ENV_FILE:
    if Path(ENV_FILE).is_file():
        environ.Env.read_env(ENV_FILE, overwrite=False)
    elif Path(ENV_FILE) != _DEFAULT_ENV_FILE:
        # A file asked for by name that is not there is a typo, not "no settings".
        raise ImproperlyConfigured(f"ENV_FILE={ENV_FILE} does not exist.")

DEBUG = env.bool("DEBUG", default=False)

_INSECURE_DEV_KEY = "django-insecure-leadfunnel-development-only"
SECRET_KEY = env.str("SECRET_KEY", default=_INSECURE_DEV_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("Set SECRET_KEY (it has no default when DEBUG is off).")

ALLOWED_HOSTS = env.list(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_celery_beat",
    "anymail",
    "axes",
    "phonenumber_field",
    "capture",
    "scoring",
    "nurture",
    "sales",
    "segments",
    "api",
    "webhooks",
    "integrations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before CommonMiddleware, as django-cors-headers requires; which origins may call
    # which endpoint is decided per landing page (capture.ingest.cors), not here.
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CsrfViewMiddleware, the first to read request.POST: a body in a charset that
    # cannot be read is a 400 here, not a BadRequest that every later read raises again.
    "leadfunnel.middleware.RequestCharsetMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Last, as django-axes requires: it turns a lockout into the 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "leadfunnel.urls"
WSGI_APPLICATION = "leadfunnel.wsgi.application"
ASGI_APPLICATION = "leadfunnel.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
    {
        # The dashboard's rows, its hot path: Jinja2 compiles a template to Python and
        # renders 25 rows in a fraction of the Django engine's 22 ms (leadfunnel/jinja2.py).
        "NAME": "jinja2",
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "leadfunnel.jinja2.environment"},
    },
]

# Database ------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # web, worker and beat share the file: WAL lets readers run beside the one writer,
    # IMMEDIATE takes the write lock up front instead of failing mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    # A restarted PostgreSQL leaves dead persistent connections behind: check before reuse.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache (rate limits) ---------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "leadfunnel",
            # A Redis that does not answer must not hang a request (rate limits fail open).
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Auth and i18n ---------------------------------------------------------------------------
# The test suite only (pyproject's pytest-env): a deliberately slow hasher costs seconds per
# test user on a loaded 2-core machine. Never set it anywhere else.
if env.bool("FAST_PASSWORD_HASHING_FOR_TESTS", default=False):
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out username+IP before any password is checked.
AUTHENTICATION_BACKENDS = [
    "leadfunnel.security.LoginAttemptsBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "sales:dashboard"
# Signing out of the sales pages lands on their own login page, not the admin's "Logged out"
# page (whose "Log in again" leads to the admin, where a rep cannot sign in).
LOGOUT_REDIRECT_URL = "login"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files ----------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files need `collectstatic`; development and tests skip it.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env.bool("STATIC_MANIFEST", default=not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEBUG)

# Email -----------------------------------------------------------------------------------
# EMAIL_URL (smtp://user:pass@host:port, smtp+tls://…, consolemail://, filemail:///abs/dir,
# memorymail://) becomes Django 6.1's MAILERS. Unset: files under var/mail/ when DEBUG is on,
# else the local MTA (Django's own default).
_MAILER_OPTIONS = {
    "EMAIL_HOST": "host",
    "EMAIL_PORT": "port",
    "EMAIL_HOST_USER": "username",
    "EMAIL_HOST_PASSWORD": "password",
    "EMAIL_USE_TLS": "use_tls",
    "EMAIL_USE_SSL": "use_ssl",
}


def _mailer(url: str) -> dict[str, Any]:
    parsed = environ.Env.email_url_config(url)
    options = {new: parsed[old] for old, new in _MAILER_OPTIONS.items() if parsed.get(old)}
    if url.startswith("filemail:"):
        options = {"file_path": urlsplit(url).path or str(VAR_DIR / "mail")}
    elif url.startswith("smtp"):
        options["timeout"] = 15
    return {"BACKEND": parsed["EMAIL_BACKEND"], "OPTIONS": options}


_DEFAULT_EMAIL_URL = f"filemail://{VAR_DIR / 'mail'}" if DEBUG else "smtp://localhost:25"
MAILERS = {"default": _mailer(env.str("EMAIL_URL", default=_DEFAULT_EMAIL_URL))}
# An ESP through django-anymail instead: ESP=postmark (mailgun, sendgrid, amazon_ses, …) and
# its settings as ANYMAIL_<NAME> variables, e.g. ANYMAIL_POSTMARK_SERVER_TOKEN=…,
# ANYMAIL_WEBHOOK_SECRET=user:password for the tracking webhooks at /anymail/<esp>/tracking/.
ESP = env.str("ESP", default="")
ANYMAIL = {
    name.removeprefix("ANYMAIL_"): value
    for name, value in env.ENVIRON.items()
    if name.startswith("ANYMAIL_")
}
if ESP:
    MAILERS["default"] = {"BACKEND": f"anymail.backends.{ESP}.EmailBackend"}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="leadfunnel <hello@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# DKIM for SMTP sending (leadfunnel.mail.DkimEmailBackend): with all three set, every message
# is signed as DKIM_DOMAIN, whose DNS publishes the public key at
# DKIM_SELECTOR._domainkey.DKIM_DOMAIN (README, Deliverability). The key is PEM text
# (newlines may be written as \n) or DKIM_PRIVATE_KEY_FILE names a file holding it.
# ESPs sign for you: with ESP set these are not used.
DKIM_SELECTOR = env.str("DKIM_SELECTOR", default="")
DKIM_DOMAIN = env.str("DKIM_DOMAIN", default="")
DKIM_PRIVATE_KEY = env.str("DKIM_PRIVATE_KEY", default="", multiline=True)
if _dkim_key_file := env.str("DKIM_PRIVATE_KEY_FILE", default=""):
    try:
        DKIM_PRIVATE_KEY = Path(_dkim_key_file).read_text()
    except OSError as error:
        raise ImproperlyConfigured(f"DKIM_PRIVATE_KEY_FILE: {error}") from error
_dkim = {
    "DKIM_PRIVATE_KEY": DKIM_PRIVATE_KEY,
    "DKIM_SELECTOR": DKIM_SELECTOR,
    "DKIM_DOMAIN": DKIM_DOMAIN,
}
if any(_dkim.values()) and not all(_dkim.values()):
    # Half a configuration would send unsigned mail while the operator believes it signed.
    raise ImproperlyConfigured(
        "DKIM needs DKIM_PRIVATE_KEY (or _FILE), DKIM_SELECTOR and DKIM_DOMAIN; missing: "
        + ", ".join(name for name, value in _dkim.items() if not value)
    )
_SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
if all(_dkim.values()) and MAILERS["default"]["BACKEND"] == _SMTP_BACKEND:
    MAILERS["default"]["BACKEND"] = "leadfunnel.mail.DkimEmailBackend"
    MAILERS["default"]["OPTIONS"] |= {
        "dkim_private_key": DKIM_PRIVATE_KEY,
        "dkim_selector": DKIM_SELECTOR,
        "dkim_domain": DKIM_DOMAIN,
    }

# Security --------------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every response (Django's own middleware). Scripts only from our
# static files: no inline <script> and no on* attributes in any template. style-src allows
# 'unsafe-inline' on purpose: Bootstrap's utilities, the admin, htmx's indicator styles,
# Chart.js and the email preview set style attributes; styles cannot run code. The embed
# pages and landing pages that redirect elsewhere send their own header built from this one
# (capture.views), which the middleware leaves alone.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
# Sessions: admin and dashboard logins end after SESSION_COOKIE_AGE or with the browser.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
# Login brute force (django-axes, on /admin/login/ and /accounts/login/): after
# AXES_FAILURE_LIMIT wrong passwords for one username from one IP, that pair is refused (429)
# for AXES_COOLOFF_MINUTES, even with the right password. A success resets the count.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "leadfunnel.security.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# No start-up banner from every process (web, worker, beat, each manage.py). Failures and
# lockouts are still logged, naming the username and IP they count (not the user agent).
AXES_VERBOSE = False
SILENCED_SYSTEM_CHECKS = env.list("SILENCED_SYSTEM_CHECKS", default=[])
if not SECURE_HSTS_PRELOAD:
    # Preloading is an irreversible opt-in for the whole domain: leave it to the operator.
    SILENCED_SYSTEM_CHECKS.append("security.W021")

# Celery ----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    # The transport ignores the host, but kombu logs "No hostname was supplied" on every
    # connection without one (seed_demo, worker, beat): name the one it would use.
    CELERY_BROKER_URL = "filesystem://localhost/"
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        # Exchange bindings; kombu's default is control/ in the working directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Publishing must fail fast when Redis is down: the capture answers at once and the
    # delivery waits in PostgreSQL for the next tick.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_connect_timeout": env.float("NURTURE_PUBLISH_TIMEOUT", default=1.0),
        "socket_timeout": 5,
    }
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("NURTURE_PUBLISH_TIMEOUT", default=1.0)
# Celery's Django fixup closes the database connection around every task unless told to
# reuse it: a new PostgreSQL connection per email halves send throughput.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Sending has its own queue, so capture, scoring and webhooks never wait behind a big send:
# run workers with `-Q sending` for it (several, on several hosts) and `-Q celery` for the
# rest; one worker with `-Q celery,sending` does both (make run).
NURTURE_SEND_QUEUE = env.str("NURTURE_SEND_QUEUE", default="sending")
CELERY_TASK_ROUTES = {
    "nurture.tasks.send_batch": {"queue": NURTURE_SEND_QUEUE},
    "nurture.tasks.send_delivery": {"queue": NURTURE_SEND_QUEUE},
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE = {
    "nurture-hand-out-due": {
        "task": "nurture.tasks.hand_out_due",
        "schedule": env.float("NURTURE_TICK_SECONDS", default=5.0),  # NURTURE_TICK_SECONDS
    },
    "nurture-advance-due": {
        "task": "nurture.tasks.advance_due",
        "schedule": env.float("NURTURE_TICK_SECONDS", default=5.0),
    },
    "api-purge-idempotency-keys": {"task": "api.purge_idempotency_keys", "schedule": 3600.0},
    # Segments' full refresh: time windows ("in the last 14 days") move on without a signal.
    "segments-refresh": {
        "task": "segments.tasks.refresh_segments",
        "schedule": env.float("SEGMENTS_REFRESH_SECONDS", default=900.0),
    },
}

# REST API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.ModelPermissions"],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.NewestFirst",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "api.throttling.TokenRateThrottle",
        "api.throttling.AddressRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("API_RATE_PER_TOKEN", default="1200/min"),
        "anon": env.str("API_RATE_ANONYMOUS", default="120/min"),
    },
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.api_exception_handler",
    # DRF's defaults with JSON read by api.parsers, which refuses input nested too deeply.
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS: dict[str, Any] = {
    "TITLE": "leadfunnel API",
    "DESCRIPTION": (
        "Push leads and behaviour from other sites, pull leads, timelines and funnel figures. "
        "Authenticate with `Authorization: Token <key>` (tokens are made in the admin). "
        'Errors are JSON: `{"error": {"code", "message", "fields"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from the installed sidecar package: no CDN at run time.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# Retried POSTs with the same Idempotency-Key replay the first answer for this long.
API_IDEMPOTENCY_HOURS = env.int("API_IDEMPOTENCY_HOURS", default=24)
# django-cors-headers: no origin is allowed globally; capture.ingest.cors allows a page's
# embed origins on its own endpoints (the check_request_enabled signal).
CORS_ALLOWED_ORIGINS: list[str] = []
CORS_URLS_REGEX = r"^/api/v1/(capture|track)/.*$"

# Forms -----------------------------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# Capture ---------------------------------------------------------------------------------
# A form sent back faster than this is a bot's: it is answered like a human, nothing stored.
CAPTURE_MIN_FILL_SECONDS = env.float("CAPTURE_MIN_FILL_SECONDS", default=2)
# A form's signed start token is good for this long (a day); an older one is refused with a
# message and a fresh token, so a harvested token cannot be replayed for ever.
CAPTURE_FORM_MAX_AGE_SECONDS = env.int("CAPTURE_FORM_MAX_AGE_SECONDS", default=86_400)
# Per client IP, django-ratelimit syntax ("10/m"); "0" turns the limit off (load tests).
CAPTURE_RATE_LIMIT = env.str("CAPTURE_RATE_LIMIT", default="10/m")
# Landing-page views are added up per process and written at most this often per page
# (capture.views_counter); 0 writes each view at once.
CAPTURE_VIEW_COUNT_FLUSH_SECONDS = env.float("CAPTURE_VIEW_COUNT_FLUSH_SECONDS", default=1.0)
# A landing page rendered once for every new visitor is kept this long per process
# (capture.page_cache): what a save in another process needs to reach every visitor.
CAPTURE_PAGE_CACHE_SECONDS = env.float("CAPTURE_PAGE_CACHE_SECONDS", default=5.0)
CAPTURE_BLOCK_DISPOSABLE = env.bool("CAPTURE_BLOCK_DISPOSABLE", default=True)
# Landing-page logos and hero images (capture): the upload limit, and where the default
# FileSystemStorage keeps them (an S3-compatible STORAGES["default"] ignores MEDIA_ROOT).
CAPTURE_IMAGE_MAX_BYTES = env.int("CAPTURE_IMAGE_MAX_BYTES", default=2_000_000)
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
# The thank-you page of a consultation page links the lead to its booking calendar; booking
# lives to capture's right (DESIGN.md), so capture is told where its signed URL comes from.
CAPTURE_BOOKING_URL_BUILDER = "nurture.services.composing.booking_url"
RATELIMIT_IP_META_KEY = env.str("RATELIMIT_IP_META_KEY", default="REMOTE_ADDR")
# A bare 200 view at /bench/bare/, the baseline of `make bench`; never on in production.
BENCH_ENDPOINTS = env.bool("BENCH_ENDPOINTS", default=False)

# Nurture ---------------------------------------------------------------------------------
# Seconds to wait for the broker when handing over a delivery; beyond it the next tick sends.
NURTURE_PUBLISH_TIMEOUT = env.float("NURTURE_PUBLISH_TIMEOUT", default=1.0)
# A delivery queued or sending for longer than this is reclaimed (lost message, dead worker).
NURTURE_LEASE_SECONDS = env.int("NURTURE_LEASE_SECONDS", default=300)
# Most deliveries queued at once (each tick tops the queue up to this): it caps sending at
# this many per tick (NURTURE_TICK_SECONDS), so it is sized for the workers' rate: 5,000 per
# 5 s is 1,000 emails/s, well inside the lease for what a tick queues.
NURTURE_DISPATCH_BATCH = env.int("NURTURE_DISPATCH_BATCH", default=5000)
# Deliveries per send task: one worker sends them over one SMTP connection (or ESP session).
NURTURE_SEND_BATCH = env.int("NURTURE_SEND_BATCH", default=100)
NURTURE_MAX_ATTEMPTS = env.int("NURTURE_MAX_ATTEMPTS", default=5)
NURTURE_RETRY_BASE_SECONDS = env.int("NURTURE_RETRY_BASE_SECONDS", default=60)
# Email retries use the webhooks' backoff (leadfunnel/outbound/backoff.py): doubling, capped,
# plus up to this fraction of jitter. No jitter by default: an ESP batch's rows retry together
# as one call, and the per-second quota already spreads a tick's retries.
NURTURE_RETRY_MAX_SECONDS = env.int("NURTURE_RETRY_MAX_SECONDS", default=6 * 3600)
NURTURE_RETRY_JITTER = env.float("NURTURE_RETRY_JITTER", default=0.0)
# Clicks this soon after sending come from mail scanners, not people.
NURTURE_SCANNER_WINDOW_SECONDS = env.int("NURTURE_SCANNER_WINDOW_SECONDS", default=10)
# ESP quotas; 0 means no limit. The per-second one spreads each tick's batch over the tick.
NURTURE_MAX_PER_HOUR = env.int("NURTURE_MAX_PER_HOUR", default=0)
NURTURE_MAX_PER_SECOND = env.float("NURTURE_MAX_PER_SECOND", default=0)
NURTURE_TICK_SECONDS = env.float("NURTURE_TICK_SECONDS", default=5.0)
# Double opt-in: a lead that has not confirmed after this many days is never mailed again.
NURTURE_CONFIRMATION_DAYS = env.int("NURTURE_CONFIRMATION_DAYS", default=7)
# Frequency cap across all journeys, per lead (0 = no cap); transactional mail is exempt.
NURTURE_CAP_PER_DAY = env.int("NURTURE_CAP_PER_DAY", default=1)
NURTURE_CAP_PER_WEEK = env.int("NURTURE_CAP_PER_WEEK", default=4)
# The journey tick: enrollments per claimed set, and how long one tick keeps claiming.
JOURNEY_TICK_BATCH = env.int("JOURNEY_TICK_BATCH", default=1000)
JOURNEY_TICK_SECONDS_BUDGET = env.float("JOURNEY_TICK_SECONDS_BUDGET", default=4.0)
NURTURE_POSTAL_ADDRESS = env.str(
    "NURTURE_POSTAL_ADDRESS", default="leadfunnel · 1 Example Street · Springfield"
)
NURTURE_UNSUBSCRIBE_MAILTO = env.str("NURTURE_UNSUBSCRIBE_MAILTO", default="")
# Where replies to marketing emails go ("Sales <sales@acme.com>"); unset, replies go to
# DEFAULT_FROM_EMAIL. Hand-off emails reply to the lead, booking confirmations to the rep.
NURTURE_REPLY_TO = env.str("NURTURE_REPLY_TO", default="")
# Booking: only slots inside these hours of the prospect's own day are offered ("HH:MM-HH:MM").
BOOKING_LOCAL_HOURS = env.str("BOOKING_LOCAL_HOURS", default="07:00-21:00")

# SMS (Twilio) ----------------------------------------------------------------------------
# A phone number typed without its country code is read as one of the lead's country, else
# of this region (ISO 3166-1 alpha-2); numbers are stored as E.164.
PHONENUMBER_DEFAULT_REGION = env.str("PHONENUMBER_DEFAULT_REGION", default="US").upper()
PHONENUMBER_DEFAULT_FORMAT = "E164"
# Off until configured: without an account SID and token no text is sent (refused, recorded).
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
# The sender: a Messaging Service SID (MG…) wins over a From number.
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="")
TWILIO_MESSAGING_SERVICE_SID = env.str("TWILIO_MESSAGING_SERVICE_SID", default="")
# Twilio's REST API; tests point it at a local fake server.
TWILIO_API_BASE = env.str("TWILIO_API_BASE", default="https://api.twilio.com").rstrip("/")
TWILIO_TIMEOUT_SECONDS = env.float("TWILIO_TIMEOUT_SECONDS", default=10.0)
# No text between these local hours in the lead's zone (start > end wraps midnight; equal
# hours mean none): a text due then is held until the end hour.
SMS_QUIET_START_HOUR = env.int("SMS_QUIET_START_HOUR", default=21)
SMS_QUIET_END_HOUR = env.int("SMS_QUIET_END_HOUR", default=9)
# For quiet hours when neither the lead nor its number tells its zone.
SMS_FALLBACK_TIME_ZONE = env.str("SMS_FALLBACK_TIME_ZONE", default="UTC")
SMS_HELP_REPLY = env.str(
    "SMS_HELP_REPLY",
    default="leadfunnel: texts about your request. Reply STOP to stop, START to restart.",
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "django.server": {
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "django.server": {"class": "logging.StreamHandler", "formatter": "django.server"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own console handler (DEBUG only) would print each of its lines a second
        # time beside root's; ADMINS is unset, so its mail_admins handler sends nothing.
        # Configuring "django" resets its children, so runserver's request log is set again.
        "django": {"handlers": [], "level": "INFO"},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
        # The twilio client logs every request's headers at INFO.
        "twilio.http_client": {"level": "WARNING"},
    },
}

# REST API resources (capture/ingest/, nurture/api.py, sales/api/) -------------------------
# One OpenAPI enum per choice set that several fields share.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "LeadStageEnum": "capture.models.Lead.Stage",
        "WorkableStageEnum": "sales.services.leads.WORKABLE_STAGES",
        "TemperatureEnum": "capture.models.Lead.Temperature",
        "LandingPageFieldEnum": "capture.models.LandingPage.Field",
        # Journeys (nurture/api_journeys.py): kinds of nodes and triggers, a journey's status.
        "NodeKindEnum": "nurture.models.Node.Kind",
        "TriggerKindEnum": "nurture.models.Trigger.Kind",
        "SequenceStatusEnum": "nurture.models.Sequence.Status",
    }
)

# Outbound webhooks -------------------------------------------------------------------------
# Seconds a receiver has to answer one delivery (connect and read).
WEBHOOKS_TIMEOUT_SECONDS = env.float("WEBHOOKS_TIMEOUT_SECONDS", default=5.0)
# Attempts before a delivery is marked failed (it can still be replayed from the admin).
WEBHOOKS_MAX_ATTEMPTS = env.int("WEBHOOKS_MAX_ATTEMPTS", default=8)
# Wait after the n-th failure: base × 2^(n−1) seconds plus 0–20 % jitter, at most the cap.
WEBHOOKS_RETRY_BASE_SECONDS = env.int("WEBHOOKS_RETRY_BASE_SECONDS", default=60)
WEBHOOKS_RETRY_MAX_SECONDS = env.int("WEBHOOKS_RETRY_MAX_SECONDS", default=6 * 3600)
# A delivery queued or sending for longer than this is handed out again (lost message, dead
# worker), so an event is delayed, never dropped.
WEBHOOKS_LEASE_SECONDS = env.int("WEBHOOKS_LEASE_SECONDS", default=300)
WEBHOOKS_RETRY_BATCH = env.int("WEBHOOKS_RETRY_BATCH", default=200)
# SSRF guard (leadfunnel/outbound/safety.py, for every outbound request: webhooks, the sales
# hand-off's webhook, the ad platforms' APIs):
# plain http:// beyond loopback hosts, and private, loopback or link-local targets, are
# refused unless switched on (development only).
WEBHOOKS_ALLOW_HTTP = env.bool("WEBHOOKS_ALLOW_HTTP", default=False)
WEBHOOKS_ALLOW_PRIVATE_NETWORKS = env.bool("WEBHOOKS_ALLOW_PRIVATE_NETWORKS", default=DEBUG)
CELERY_BEAT_SCHEDULE["webhooks-hand-out-due"] = {
    "task": "webhooks.tasks.hand_out_due",
    "schedule": env.float("WEBHOOKS_TICK_SECONDS", default=30.0),
}

# Capture API and website tracking (capture.ingest, static/leadfunnel/track.js) -------------
# Sites whose pages may call /api/v1/track/ with CORS besides the sites listed on published
# landing pages ("https://www.example.com,https://shop.example.com"). Beacons need no CORS;
# this matters for track.js's fetch fallback. Origins are never allowed credentials.
TRACKING_ALLOWED_ORIGINS = env.list("TRACKING_ALLOWED_ORIGINS", default=[])
# Anonymous-visitor history (capture.anonymous): page views of a browser not yet a lead, kept
# under track.js's visitor id at most this many per id, and deleted after this many days
# unless the visitor became a lead (then they join its timeline and score).
TRACKING_ANONYMOUS_MAX_EVENTS = env.int("TRACKING_ANONYMOUS_MAX_EVENTS", default=200)
TRACKING_ANONYMOUS_DAYS = env.int("TRACKING_ANONYMOUS_DAYS", default=30)
# The capture outbox (capture.processing): a submission a worker has not announced this long
# after it was stored (its task was lost to a broker outage, or failed) is the tick's.
CAPTURE_OUTBOX_GRACE_SECONDS = env.int("CAPTURE_OUTBOX_GRACE_SECONDS", default=10)
CELERY_BEAT_SCHEDULE["capture-process-pending"] = {
    "task": "capture.tasks.process_pending",
    "schedule": env.float("NURTURE_TICK_SECONDS", default=5.0),
}
CELERY_BEAT_SCHEDULE["capture-expire-anonymous"] = {
    "task": "capture.tasks.expire_anonymous",
    "schedule": 3600.0,
}
CORS_ALLOW_METHODS = ("OPTIONS", "POST")
CORS_ALLOW_HEADERS = ("accept", "content-type", "idempotency-key")
CORS_EXPOSE_HEADERS = ("retry-after", "idempotent-replayed")

# Ad audiences (integrations.services.ad_sync): segments kept in step with Meta Custom
# Audiences and Google Ads Customer Match. Credentials only here (the environment); the API
# base URLs are settings so that tests and staging point them at local fakes.
ADS_META_ACCESS_TOKEN = env.str("ADS_META_ACCESS_TOKEN", default="")
ADS_META_AD_ACCOUNT_ID = env.str("ADS_META_AD_ACCOUNT_ID", default="")
ADS_META_API_URL = env.str("ADS_META_API_URL", default="https://graph.facebook.com/v25.0")
ADS_GOOGLE_DEVELOPER_TOKEN = env.str("ADS_GOOGLE_DEVELOPER_TOKEN", default="")
ADS_GOOGLE_CUSTOMER_ID = env.str("ADS_GOOGLE_CUSTOMER_ID", default="")
ADS_GOOGLE_LOGIN_CUSTOMER_ID = env.str("ADS_GOOGLE_LOGIN_CUSTOMER_ID", default="")
ADS_GOOGLE_CLIENT_ID = env.str("ADS_GOOGLE_CLIENT_ID", default="")
ADS_GOOGLE_CLIENT_SECRET = env.str("ADS_GOOGLE_CLIENT_SECRET", default="")
ADS_GOOGLE_REFRESH_TOKEN = env.str("ADS_GOOGLE_REFRESH_TOKEN", default="")
ADS_GOOGLE_API_URL = env.str("ADS_GOOGLE_API_URL", default="https://googleads.googleapis.com/v22")
ADS_GOOGLE_TOKEN_URL = env.str(
    "ADS_GOOGLE_TOKEN_URL", default="https://oauth2.googleapis.com/token"
)
CELERY_BEAT_SCHEDULE["integrations-sync-audiences"] = {
    "task": "integrations.tasks.sync_audiences",
    "schedule": env.float("AUDIENCE_SYNC_HOURS", default=6.0) * 3600,
}

# Integrations: CSV import, audience export, privacy requests -----------------------------
# The largest CSV the import accepts; 20 MB holds about 200,000 typical rows.
INTEGRATIONS_IMPORT_MAX_BYTES = env.int("INTEGRATIONS_IMPORT_MAX_BYTES", default=20_000_000)
INTEGRATIONS_IMPORT_MAX_COLUMNS = env.int("INTEGRATIONS_IMPORT_MAX_COLUMNS", default=200)

# Sales funnel facts (sales.services.funnel): the leads the triggers noted as moved are
# recounted every minute (the metrics page recounts whatever is left before it reads).
CELERY_BEAT_SCHEDULE["sales-recount-funnel-facts"] = {
    "task": "sales.tasks.recount_funnel_facts",
    "schedule": 60.0,
}
