"""Settings for PSA, read from the environment.

Every value that differs between a laptop demo and production comes from an environment variable. The
defaults are safe for production (DEBUG off, secure cookies, HSTS). `make run` serves the demo with DEBUG off
too, and sets PSA_DEMO=true: plain http on the loopback address only (see the demo block below).
Without DATABASE_URL the app runs on a SQLite file; without REDIS_URL, Celery uses an embedded filesystem
broker (a real worker process, started by `make run`, still runs the jobs).
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key
from django.utils.csp import CSP
from kombu import Exchange, Queue

from psa.conf import env_read
from psa.core.firm import firm_settings_read


def demo_secret_key(path: Path) -> str:
    """The demo's own secret key: made once (0600) under var/, then read by every demo process."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(get_random_secret_key())
    return path.read_text().strip()


BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("PSA_VAR_DIR", default=str(BASE_DIR / "var")))
if _test_worker := environ.Env().str("PYTEST_XDIST_WORKER", default=""):
    # Parallel test processes (pytest-xdist) each keep their files (media, mail, broker) apart.
    VAR_DIR = VAR_DIR / _test_worker

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

# --- The demo (`make run`) ------------------------------------------------------------------------------
# DEBUG stays off in the demo (no route lists on a 404); what PSA_DEMO relaxes is only what plain
# http://127.0.0.1 needs (no HTTPS redirect, no Secure cookies, no HSTS), a console mailer, and a secret key
# kept in var/ - and it refuses to start for any host but the loopback one.
PSA_DEMO = env_read(env, "PSA_DEMO")
if PSA_DEMO and set(ALLOWED_HOSTS) - {"localhost", "127.0.0.1", "[::1]"}:
    raise ImproperlyConfigured(
        "PSA_DEMO serves plain http and is for 127.0.0.1/localhost only; unset it to serve other hosts "
        f"(ALLOWED_HOSTS={','.join(ALLOWED_HOSTS)})."
    )
_HTTPS = not (DEBUG or PSA_DEMO)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if PSA_DEMO:
        SECRET_KEY = demo_secret_key(VAR_DIR / "demo-secret-key")
    elif DEBUG:
        SECRET_KEY = "insecure-development-key-only-used-with-debug-on-0123456789abcdef"
    else:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # pg_trgm lookups for the global search (psa/web/search.py)
    "rest_framework",
    "knox",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "mozilla_django_oidc",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "pgtrigger",
    "pghistory",
    "psa.core",
    "psa.web",
    "crm",
    "projects",
    "ledger",
    "billing",
]

# The month-end checklist items of the apps above the ledger (ledger.selectors.close): the ledger may not import
# them, so the composition names them here and the ledger's checklist takes them as extra checks.
PSA_CLOSE_CHECKS = ["billing.close_checks.CLOSE_CHECKS"]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "psa.core.replica.ReplicaStickyMiddleware",
    "psa.core.pagecache.FreshAfterWriteMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "psa.core.mfa.MfaMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "psa.web.preferences.DateFormatMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "psa.core.history.HistoryMiddleware",
]

ROOT_URLCONF = "psa.urls"
WSGI_APPLICATION = "psa.wsgi.application"
ASGI_APPLICATION = "psa.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "psa.web.context_processors.navigation",
                "psa.core.replica.replica_note",
            ],
        },
    },
]
# Form widgets render through Jinja2 with Django's own widget templates (psa/core/form_renderer.py).
FORM_RENDERER = "psa.core.form_renderer.WidgetRenderer"

# --- Database -------------------------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'psa.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite for the zero-setup demo: WAL so the web process and the worker can work side by side.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # The approved-time summary's key treats an empty contract line as one value (nulls_distinct=False), which
    # SQLite cannot declare; its refresh deletes a month before inserting it, so the demo never holds two rows.
    SILENCED_SYSTEM_CHECKS = ["models.W047"]
DB_JIT = env.bool("DB_JIT", default=False)


def _without_jit(database: dict) -> None:
    """PostgreSQL's JIT compiles a query whose estimated cost passes jit_above_cost: on a 30-million-line ledger the
    trial balance's estimate crossed the inlining and optimisation thresholds and compiling took 0.2-0.3 s of a 0.4 s
    report whose work is 0.1 s (EXPLAIN ANALYZE, the L benchmark). A web request's queries are short, so the
    application's sessions run without it; DB_JIT=true turns it back on. Options the URL gave are kept."""
    if database["ENGINE"] == "django.db.backends.postgresql" and not DB_JIT:
        options = database.setdefault("OPTIONS", {})
        options["options"] = f"{options.get('options', '')} -c jit=off".strip()


_without_jit(DATABASES["default"])
# A streaming read replica (psa/core/replica.py): report and list views marked @replica_view read it, unless the
# user wrote within PSA_REPLICA_STICKY_SECONDS or it is more than PSA_REPLICA_MAX_LAG_SECONDS behind.
if env.str("DATABASE_REPLICA_URL", default=""):
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs PostgreSQL for DATABASE_URL too.")
    DATABASES["replica"] = env.db_url("DATABASE_REPLICA_URL")
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["CONN_HEALTH_CHECKS"] = True
    _without_jit(DATABASES["replica"])
    # The test runner never creates a database on a read-only standby: under tests the alias mirrors default
    # (tests/fixtures_replica.py starts a real replica of the test database instead).
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["psa.core.replica.ReplicaRouter"]
PSA_REPLICA_STICKY_SECONDS = env_read(env, "PSA_REPLICA_STICKY_SECONDS")
PSA_REPLICA_MAX_LAG_SECONDS = env_read(env, "PSA_REPLICA_MAX_LAG_SECONDS")
PSA_REPLICA_LAG_CHECK_MS = env_read(env, "PSA_REPLICA_LAG_CHECK_MS")
if PSA_REPLICA_STICKY_SECONDS <= PSA_REPLICA_MAX_LAG_SECONDS:
    # A user's own write must be on the replica by the time their reports read it again: past the sticky
    # window the replica is at most MAX_LAG behind, so it holds a write made more than MAX_LAG ago.
    raise ImproperlyConfigured(
        "PSA_REPLICA_STICKY_SECONDS must be greater than PSA_REPLICA_MAX_LAG_SECONDS, or a user could miss their "
        "own write on a lagging replica."
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# History (psa.core.history): an event is stamped with the time of its statement, not of its transaction's start,
# so the changes of one long transaction (a billing run) keep their order in the audit trail.
PGHISTORY_CREATED_AT_FUNCTION = "clock_timestamp()"

# --- Auth -----------------------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "psa.core.sso.StaffOidcBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Not a rule: Django calls each validator's password_changed() after any password change (own page,
    # admin, reset, changepassword); this one revokes the user's API tokens then.
    {"NAME": "psa.core.tokens.RevokeApiTokensOnPasswordChange"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Multi-factor sign-in (psa.core.mfa, django-otp): roles that must set up an authenticator app, e.g.
# PSA_MFA_REQUIRED_ROLES=finance,admin. Everyone may set one up on /accounts/mfa/.
PSA_MFA_REQUIRED_ROLES = env_read(env, "PSA_MFA_REQUIRED_ROLES")
OTP_TOTP_ISSUER = env.str("PSA_FIRM_NAME", default="Northwind Consulting") + " PSA"

# Single sign-on for staff through OpenID Connect (psa.core.sso, mozilla-django-oidc): on when OIDC_RP_CLIENT_ID
# is set. The provider's endpoints come from its /.well-known/openid-configuration.
OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="")
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="")
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="")
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="")
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="")
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="")
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256")
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid email profile")
OIDC_CREATE_USER = False
OIDC_USE_PKCE = True
OIDC_AUTHENTICATION_CALLBACK_URL = "sso-callback"
LOGIN_REDIRECT_URL_FAILURE = "/accounts/login/?sso=failed"
PSA_SSO_ENABLED = bool(OIDC_RP_CLIENT_ID)
PSA_OIDC_ROLE_CLAIM = env_read(env, "PSA_OIDC_ROLE_CLAIM")
PSA_OIDC_ROLE_MAP = env_read(env, "PSA_OIDC_ROLE_MAP")

# The client address behind reverse proxies (psa.core.clientip): how many proxies append to X-Forwarded-For,
# or their addresses/networks. Neither set: X-Forwarded-For is ignored.
PSA_TRUSTED_PROXY_COUNT = env_read(env, "PSA_TRUSTED_PROXY_COUNT")
PSA_TRUSTED_PROXY_IPS = env_read(env, "PSA_TRUSTED_PROXY_IPS")

# Lockout after repeated failures (psa.core.lockout): a username after AXES_FAILURE_LIMIT failures from any
# address, an address after PSA_LOCKOUT_IP_FAILURE_LIMIT failures over all usernames; each ends after the
# cool-down. A success does not wipe the counts: it would wipe every username's count at that address too.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
PSA_LOCKOUT_IP_FAILURE_LIMIT = env_read(env, "PSA_LOCKOUT_IP_FAILURE_LIMIT")
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address"]]
AXES_HANDLER = "psa.core.lockout.LockoutHandler"
AXES_CLIENT_IP_CALLABLE = "psa.core.clientip.client_ip"
AXES_RESET_ON_SUCCESS = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_LOCKOUT_CALLABLE = "psa.core.lockout.lockout_response"
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_VERBOSE = False

# --- Internationalisation -------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = False

# --- Static and media -----------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
NODE_MODULES = BASE_DIR / "node_modules"
# Front-end packages come from npm at install time (package.json / package-lock.json); never a CDN.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", NODE_MODULES / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", NODE_MODULES / "bootstrap-icons" / "font"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
    ("vendor/chartjs", NODE_MODULES / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed, compressed files in production (after collectstatic); plain files in the demo and tests.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env.bool("STATIC_MANIFEST", default=_HTTPS)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=DEBUG)
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))

# --- Security -------------------------------------------------------------------------------------------
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=_HTTPS)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=_HTTPS)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=_HTTPS)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if _HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = _HTTPS
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=_HTTPS)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)
# Django's built-in Content Security Policy: everything from our own origin, scripts by nonce or file.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# --- Email ----------------------------------------------------------------------------------------------
# Read from the classic EMAIL_* variables, configured as Django 6.1 MAILERS.
_email_backend = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if DEBUG or PSA_DEMO
    else "django.core.mail.backends.smtp.EmailBackend",
)
_email_options: dict = {}
if _email_backend.endswith("smtp.EmailBackend"):
    _email_options = {
        "host": env.str("EMAIL_HOST", default="localhost"),
        "port": env.int("EMAIL_PORT", default=25),
        "username": env.str("EMAIL_HOST_USER", default=""),
        "password": env.str("EMAIL_HOST_PASSWORD", default=""),
        "use_tls": env.bool("EMAIL_USE_TLS", default=False),
        "timeout": env.int("EMAIL_TIMEOUT", default=20),
    }
elif _email_backend.endswith("filebased.EmailBackend"):
    _email_options = {"file_path": env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))}
MAILERS = {"default": {"BACKEND": _email_backend, "OPTIONS": _email_options}}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="PSA <psa@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- REST API -------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # The token class first: an unauthenticated call is a 401 with WWW-Authenticate: Token.
        "psa.core.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["psa.core.throttling.AnonRateThrottle", "psa.core.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("PSA_THROTTLE_ANON", default="60/minute"),
        "user": env.str("PSA_THROTTLE_USER", default="1200/minute"),
        "token": env.str("PSA_THROTTLE_TOKEN", default="10/minute"),
    },
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_PAGINATION_CLASS": "psa.core.pagination.DefaultPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "psa.core.api.exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PSA API",
    "DESCRIPTION": "Pipeline, projects, time, billing and ledger. Errors: {code, message, fields}. "
    "Every POST honours an Idempotency-Key header.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Two fields are called "method" (a payment's and a revenue schedule's): name their enums apart.
    "ENUM_NAME_OVERRIDES": {
        "PaymentMethodEnum": "billing.choices.PaymentMethod",
        "PaymentRunStatusEnum": "billing.choices.PaymentRunStatus",
        "RecognitionMethodEnum": "ledger.choices.RecognitionMethod",
        "VendorBillLineKindEnum": "billing.choices.VendorBillLineKind",
        "PurchaseTaxEnum": "billing.choices.PurchaseTax",
        "VendorBillStatusEnum": "billing.choices.VendorBillStatus",
        "CreditHoldSourceEnum": "crm.choices.CreditHoldSource",
        "SourceKindEnum": "billing.choices.SourceKind",
        "RateSourceEnum": "psa.core.models.RateSource",
    },
    # Every operation documents its error answers ({code, message, fields}) next to its success.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "psa.core.api.schema_document_errors",
    ],
}

# --- API tokens (issue 15.5) -----------------------------------------------------------------------------
# Per-integration tokens by django-rest-knox, stored as SHA-512 digests in psa.core's ApiToken (name, scope).
KNOX_TOKEN_MODEL = "core.ApiToken"
# knox's own migrations build its default token table, which core.ApiToken replaces: skip them.
MIGRATION_MODULES = {"knox": None}
PSA_API_TOKEN_TTL_DAYS = env_read(env, "PSA_API_TOKEN_TTL_DAYS")
PSA_API_TOKEN_MAX_TTL_DAYS = env_read(env, "PSA_API_TOKEN_MAX_TTL_DAYS")
REST_KNOX = {
    "TOKEN_MODEL": KNOX_TOKEN_MODEL,
    "TOKEN_TTL": timedelta(days=PSA_API_TOKEN_TTL_DAYS),
    "TOKEN_PREFIX": "psa_",
    "AUTH_HEADER_PREFIX": "Token",
}
# Throttle counters live in the cache: Redis when configured, so every process counts together.
if env.str("REDIS_URL", default=""):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env.str("REDIS_URL"),
            "KEY_PREFIX": "psa-cache",
        }
    }

# --- Celery ---------------------------------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Above the longest job (a month's invoice run at the largest size, with margin): a late-acked task
        # that runs this long is not delivered a second time while it still runs.
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=4 * 3600),
    }
else:
    # Embedded broker for the zero-setup demo: messages are files under var/broker, a real worker process
    # (started by `make run`) consumes them. No Redis needed, jobs still run as jobs.
    for sub in ("out", "processed", "control"):
        (CELERY_BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "out"),
        "data_folder_out": str(CELERY_BROKER_DIR / "out"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
# Queues: each kind of long job has a queue of its own, so a month-end billing run never delays an invoice's PDF
# or an e-mail, and each queue can have workers of its own on machines of its own (`celery -A psa worker -Q
# billing`). A worker started without -Q consumes every queue (the demo's single worker). psa.celery.task_route
# reads JOB_QUEUE_OF_TASK at send time; CELERY_ONE_QUEUE=true sends everything to the default queue (the tests'
# private worker). CELERY_QUEUE_PREFIX names a private set of queues on a shared broker.
CELERY_QUEUE_PREFIX = env.str("CELERY_QUEUE_PREFIX", default="")
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default=f"{CELERY_QUEUE_PREFIX}celery")
JOB_QUEUE_NAMES = ("billing", "revenue", "rendering", "outbox")
JOB_QUEUE_OF_TASK = (
    {}
    if env.bool("CELERY_ONE_QUEUE", default=False)
    else {
        "billing.tasks.billing_run_execute_task": "billing",
        "billing.tasks.billing_runs_resume_stalled_task": "billing",
        "billing.tasks.billing_sweep_task": "billing",
        "billing.tasks.dunning_send_task": "billing",
        "billing.tasks.credit_daily_task": "billing",
        "billing.tasks.invoice_render_task": "rendering",
        "ledger.tasks.recognition_run_task": "revenue",
        "ledger.tasks.recognition_month_end_task": "revenue",
        "ledger.tasks.revaluation_run_task": "revenue",
        "ledger.tasks.ic_recharge_task": "revenue",
        "ledger.tasks.cost_posting_task": "revenue",
        "billing.tasks.time_summary_refresh_task": "revenue",
        "psa.core.tasks.outbox_deliver_task": "outbox",
        "psa.core.tasks.outbox_deliver_due_task": "outbox",
    }
)
# Each queue bound to an exchange of its own name by its own name (what Celery creates for a queue it was not
# told of): a queue declared by name alone would share the default exchange and routing key, and a message for
# one queue would be delivered to all of them.
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name)
    for name in (CELERY_TASK_DEFAULT_QUEUE, *(f"{CELERY_QUEUE_PREFIX}{q}" for q in JOB_QUEUE_NAMES))
]
CELERY_TASK_ROUTES = ("psa.celery.task_route",)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=3 * 3600)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=3 * 3600 - 300)
CELERY_WORKER_MAX_TASKS_PER_CHILD = env.int("CELERY_WORKER_MAX_TASKS_PER_CHILD", default=200)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Periodic jobs. Each app's job is named by its task path; the task is thin and calls one service.
CELERY_BEAT_SCHEDULE = {
    "outbox-deliver-due": {
        "task": "psa.core.tasks.outbox_deliver_due_task",
        "schedule": 60.0,
    },
    "idempotency-purge": {
        "task": "psa.core.tasks.idempotency_purge_task",
        "schedule": crontab(hour=3, minute=15),
    },
    "ledger-periods-ensure": {
        "task": "ledger.tasks.periods_ensure_task",
        "schedule": crontab(hour=0, minute=30),
    },
    "ledger-line-partitions": {
        # Journal lines' month partitions, this month and three ahead (safe to run twice).
        "task": "ledger.tasks.line_partitions_ensure_task",
        "schedule": crontab(hour=0, minute=35),
    },
    "projects-time-partitions": {
        # Time entries' month partitions, this month and three ahead (safe to run twice).
        "task": "projects.tasks.time_partitions_ensure_task",
        "schedule": crontab(hour=0, minute=40),
    },
    "ledger-auto-reversals": {
        "task": "ledger.tasks.entries_auto_reverse_task",
        "schedule": crontab(hour=0, minute=45),
    },
    "ledger-budget-alerts": {
        # Burn alerts: raise what crossed a budget level, clear what a change order or a rejection undid.
        "task": "ledger.tasks.budget_alerts_check_task",
        "schedule": 300.0,
    },
    "ledger-revenue-recognition": {
        # 1st of each month, after the periods exist: recognise the month just ended (safe to run twice).
        "task": "ledger.tasks.recognition_month_end_task",
        "schedule": crontab(day_of_month=1, hour=1, minute=0),
    },
    "billing-time-summary": {
        # The approved-time summary the dashboard and the exception queue read (its as-of time is on them).
        "task": "billing.tasks.time_summary_refresh_task",
        "schedule": 120.0,
    },
    "billing-sweep": {
        # Renders PDFs a lost job never rendered (and resumes stalled runs, as the next entry does).
        "task": "billing.tasks.billing_sweep_task",
        "schedule": 300.0,
    },
    "billing-runs-resume-stalled": {
        # A billing run whose item leases all expired lost its worker: queue it again. Every 20 s, so with the
        # 30 s lease (PSA_BILLING_LEASE_S) a dead worker's run resumes within a minute.
        "task": "billing.tasks.billing_runs_resume_stalled_task",
        "schedule": 20.0,
    },
    "billing-credit-daily": {
        # Every morning before dunning: `invoice.overdue` once per newly overdue invoice, and the credit-hold rule.
        "task": "billing.tasks.credit_daily_task",
        "schedule": crontab(hour=7, minute=30),
    },
    "billing-dunning": {
        # Every morning: payment reminders for invoices 7, 30 and 60 days overdue (each level once per invoice).
        "task": "billing.tasks.dunning_send_task",
        "schedule": crontab(hour=8, minute=0),
    },
    "projects-missing-time-reminders": {
        # Monday morning: consultants below their expected hours for last week get a reminder (outbox).
        "task": "projects.tasks.missing_time_remind_task",
        "schedule": crontab(day_of_week=1, hour=10, minute=0),
    },
}

# --- Logging --------------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # WeasyPrint and factur-x log every rendering step at INFO: only their warnings are worth a line.
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "factur-x": {"level": "WARNING"},
    },
}

# --- PSA ------------------------------------------------------------------------------------------------
# The firm's name and the seller printed on invoices: declared with their docs in psa/core/firm.py, no default
# in production (issuing is refused until they are set); PSA_DEMO_FIRM=true (make run) fills in the demo firm.
PSA_DEMO_FIRM = env_read(env, "PSA_DEMO_FIRM")
globals().update(firm_settings_read(env.ENVIRON, demo=PSA_DEMO_FIRM))
# The ledger's one functional currency (no implicit FX).
PSA_FUNCTIONAL_CURRENCY = env_read(env, "PSA_FUNCTIONAL_CURRENCY")
PSA_DATE_FORMAT = env_read(env, "PSA_DATE_FORMAT")
PSA_IDEMPOTENCY_RETENTION_DAYS = env_read(env, "PSA_IDEMPOTENCY_RETENTION_DAYS")
PSA_OUTBOX_MAX_ATTEMPTS = env_read(env, "PSA_OUTBOX_MAX_ATTEMPTS")
# A billing worker's lease on the run item it works on, renewed every third of it while the worker lives.
PSA_BILLING_LEASE_S = env_read(env, "PSA_BILLING_LEASE_S")
PSA_BILLING_RUN_JOBS = env_read(env, "PSA_BILLING_RUN_JOBS")
PSA_CREDIT_HOLD_OVERDUE_DAYS = env_read(env, "PSA_CREDIT_HOLD_OVERDUE_DAYS")
PSA_CREDIT_HOLD_GRACE_DAYS = env_read(env, "PSA_CREDIT_HOLD_GRACE_DAYS")
# Expenses above this amount (in the expense's currency) need a receipt.
PSA_RECEIPT_REQUIRED_ABOVE = env_read(env, "PSA_RECEIPT_REQUIRED_ABOVE")
PSA_AP_PM_APPROVAL_THRESHOLD = env_read(env, "PSA_AP_PM_APPROVAL_THRESHOLD")
# Webhook receivers on any address that is not globally routable are refused unless this is on (tests and
# development only; DEBUG does not turn it on).
PSA_WEBHOOKS_ALLOW_PRIVATE = env_read(env, "PSA_WEBHOOKS_ALLOW_PRIVATE")
PSA_WEBHOOK_TIMEOUT_S = env_read(env, "PSA_WEBHOOK_TIMEOUT_S")

# --- Stored files (psa/core/files.py) -------------------------------------------------------------------
# Invoice PDFs and receipts leave only through the checked views (/files/..., /api/v1/files/...), never from
# MEDIA_ROOT directly. Who sends the bytes: "django" (FileResponse, default), "x-accel-redirect" (nginx, with
# an `internal` location at PSA_FILES_ACCEL_PREFIX aliased to MEDIA_ROOT) or "x-sendfile" (Apache/lighttpd).
PSA_FILES_SERVE = env_read(env, "PSA_FILES_SERVE")
PSA_FILES_ACCEL_PREFIX = env_read(env, "PSA_FILES_ACCEL_PREFIX")

# --- Shared page results (psa/core/pagecache.py): seconds a computed queue, dashboard or heatmap is reused ---
PSA_PAGE_CACHE_SECONDS = env_read(env, "PSA_PAGE_CACHE_SECONDS")

# --- Exception queue thresholds (psa/web/exception_queue.py) ------------------------------------------
PSA_EXC_UNBILLED_DAYS = env_read(env, "PSA_EXC_UNBILLED_DAYS")
PSA_EXC_MILESTONE_DAYS = env_read(env, "PSA_EXC_MILESTONE_DAYS")
PSA_EXC_CAP_SHARE = env_read(env, "PSA_EXC_CAP_SHARE")
PSA_EXC_CAP_DAYS = env_read(env, "PSA_EXC_CAP_DAYS")
PSA_EXC_SUBCONTRACT_TOLERANCE_HOURS = env_read(env, "PSA_EXC_SUBCONTRACT_TOLERANCE_HOURS")
PSA_EXC_SUBCONTRACT_DAYS = env_read(env, "PSA_EXC_SUBCONTRACT_DAYS")
# The approval queue flags a consultant's day above this many hours (all projects, submitted and approved).
PSA_TIME_DAY_WARN_HOURS = env_read(env, "PSA_TIME_DAY_WARN_HOURS")
