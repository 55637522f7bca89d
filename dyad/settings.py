"""Dyad settings: one module, every value from the environment (see .env.example).

Development (DEBUG=true, which `make run` and `make test` set) works with no variables at
all. With DEBUG off, anything that would be unsafe to guess must be given explicitly.
"""

from __future__ import annotations

import datetime
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from dyad.env import cache_from_url, env_bool, env_int, env_list, env_required, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DEBUG", False)


def _development_secret_key() -> str:
    """A random key kept in var/ so development sessions survive restarts."""
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(exist_ok=True)
        path.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY") or _development_secret_key()
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
else:
    SECRET_KEY = env_required("SECRET_KEY", "a long random string kept out of the repository")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "The environment variable ALLOWED_HOSTS must be set when DEBUG is off "
            "(comma-separated host names, e.g. dyad.example.org)"
        )
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "dyad.apps.DyadConfig",
    "clinic.apps.ClinicConfig",
    "rri_forms.apps.RriFormsConfig",
    "outcomes.apps.OutcomesConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "pgtrigger",  # append-only history (see docs/security.md "Audit trail")
    "pghistory",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_otp",  # staff two-factor (see docs/security.md "Authentication")
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",  # login lockout
    "csp",
    "procrastinate.contrib.django",  # job queue on the same PostgreSQL (docs/deployment.md)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "dyad.lib.errors.DatabaseUnavailableMiddleware",  # DB down: 503 + Retry-After
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "dyad.lib.caching.NoStoreWhenSignedInMiddleware",  # signed-in pages: Cache-Control no-store
    "clinic.history.HistoryMiddleware",  # who and which URL, on every history row
    "django.contrib.messages.middleware.MessageMiddleware",
    "dyad.lib.session_security.AbsoluteSessionLifetimeMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "clinic.two_factor.TwoFactorMiddleware",  # unverified staff → code or enrolment
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # must stay last
]

ROOT_URLCONF = "dyad.urls"
WSGI_APPLICATION = "dyad.wsgi.application"

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
                "clinic.context_processors.staff",
                "rri_forms.context_processors.instrument_notices",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
_database_url = env_str("DATABASE_URL")
if not _database_url:
    raise ImproperlyConfigured(
        "The environment variable DATABASE_URL must be set (postgres://user:pass@host/db). "
        "`make run` and `make test` set it to an embedded PostgreSQL for you; "
        "to run other commands the same way use `python scripts/with_db.py COMMAND`."
    )
DATABASES = {
    "default": dj_database_url.parse(
        _database_url,
        # Persistent connections: a new connection per request costs ~3/4 of throughput.
        conn_max_age=env_int("DB_CONN_MAX_AGE", 600),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres://…)")
if env_str("DB_SSLMODE"):
    DATABASES["default"].setdefault("OPTIONS", {})["sslmode"] = env_str("DB_SSLMODE")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: one for every process (docs/scaling.md "Cache") ---------------------------
# db:// (default): table dyad_cache in the same PostgreSQL, created by `migrate`;
# redis://host:6379/0: Django's RedisCache.
CACHES = {"default": cache_from_url(env_str("CACHE_URL"))}

# --- Authentication -------------------------------------------------------------------
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # refuses locked-out username + address pairs
    "django.contrib.auth.backends.ModelBackend",
]
# Lockout (django-axes): 5 failures for one username from one address lock that pair
# for 15 minutes; every attempt during the lockout restarts the wait.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "dyad.lib.lockout.lockout_response"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
# Real client address behind TRUSTED_PROXY_COUNT proxies (set under "Rate limits").
AXES_CLIENT_IP_CALLABLE = "dyad.lib.client_ip.client_ip"
# Second factor (django-otp): on by default in production, off under DEBUG unless set.
REQUIRE_2FA = env_bool("REQUIRE_2FA", not DEBUG)
THERAPISTS_NEED_2FA = env_bool("THERAPISTS_NEED_2FA", False)
OTP_TOTP_ISSUER = "Dyad"

# --- Sessions, cookies and headers ----------------------------------------------------
SESSION_ENGINE = "dyad.lib.session_store"  # Django's database sessions, read with plain SQL
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 30) * 60
# SESSION_COOKIE_AGE is an idle timeout: dyad/lib/session_security.py re-saves a session, which
# pushes its expiry forward, at most once per SESSION_REFRESH_SECONDS of activity. (Saving on
# every request, SESSION_SAVE_EVERY_REQUEST, cost an UPDATE and a COMMIT per page view.)
SESSION_SAVE_EVERY_REQUEST = False
SESSION_REFRESH_SECONDS = 60  # the idle timeout ends up to this much early, never late
SESSION_ABSOLUTE_HOURS = env_int("SESSION_ABSOLUTE_HOURS", 12)  # then sign in again
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SECURE_COOKIES = env_bool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
if SECURE_COOKIES:
    # __Host- cookies are only accepted over HTTPS, for this exact host, path /.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Behind a TLS proxy, also set TRUSTED_PROXY_COUNT (check clinic.W001 says so).
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# HSTS preload is a decision for the owner of the whole registrable domain (it covers
# every subdomain and is slow to undo), not for this app: SECURE_HSTS_PRELOAD=true opts in.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
CSRF_FAILURE_VIEW = "dyad.lib.errors.csrf_failure"
# Content Security Policy (django-csp 4): no inline script or style anywhere; charts get
# their data through json_script and plotly's rules from a static stylesheet.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- Internationalisation -------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English"))]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [BASE_DIR / "locale"]

# --- Static files ---------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "dyad.lib.staticfinders.VendorFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
if DEBUG:
    STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on every request without it

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Email ----------------------------------------------------------------------------
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Dyad <no-reply@localhost>")
# Emails are sent by worker jobs (rri_forms/tasks.py), never inside a request.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)  # seconds before a silent mail server is a failure
EMAIL_ATTEMPTS = env_int("EMAIL_ATTEMPTS", 6)  # tries of one email before it is marked failed
# Back-off between tries: base**1, base**2, … seconds (8 → 8 s, 64 s, 8.5 min, 68 min, 9 h).
EMAIL_RETRY_BASE_SECONDS = env_int("EMAIL_RETRY_BASE_SECONDS", 8)
# How often a worker looks for due reminders (cron; a sixth field counts seconds).
REMINDER_SCAN_CRON = env_str("REMINDER_SCAN_CRON", "*/5 * * * *")
# Length of the "hour" in the reminder settings: 3600, shortened only by tests.
REMINDER_HOUR_SECONDS = env_int("REMINDER_HOUR_SECONDS", 3600)

# --- Logging: no clinical data; requests are logged by the proxy ----------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"no_clinical_data": {"()": "dyad.lib.logfilters.NoClinicalData"}},
    "formatters": {
        "django.server": {  # Django's own, for runserver's request lines
            "()": "django.utils.log.ServerFormatter",
            "format": "[{server_time}] {message}",
            "style": "{",
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["no_clinical_data"]},
        "django.server": {
            "class": "logging.StreamHandler",
            "formatter": "django.server",
            "filters": ["no_clinical_data"],  # "GET /f/<token>" lines, masked
        },
    },
    "loggers": {
        # Django's default handlers here (console under DEBUG, mail_admins) would print
        # each 404 and 500 a second time, the copy without our filter: root's only.
        "django": {"handlers": [], "propagate": True},
        "django.request": {"filters": ["no_clinical_data"]},
        "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
        # Every process, every command: "Registering task …" is noise outside the worker.
        "procrastinate.blueprints": {"level": "WARNING"},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

# --- Audit trail (django-pghistory) ---------------------------------------------------
# Only writing requests carry context; GETs write no tracked rows.
PGHISTORY_MIDDLEWARE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

# --- Work outside the request: Procrastinate jobs on our PostgreSQL -------------------
# Workers: `manage.py procrastinate worker` (make run starts one beside the dev server).
# Job modules are each app's tasks.py (autodiscovered).
PROCRASTINATE_WORKER_DEFAULTS = {
    # A worker that stops heart-beating for this long is taken for dead and its jobs are
    # retried by another (clinic/tasks.py; docs/deployment.md "Workers").
    "update_heartbeat_interval": env_int("JOB_HEARTBEAT_SECONDS", 10),
    "stalled_worker_timeout": env_int("JOB_STALLED_SECONDS", 30),
}
# Every failed attempt is recorded with its error (dyad/lib/jobs.py, the health page).
PROCRASTINATE_ON_APP_READY = "dyad.lib.jobs.on_app_ready"
# Periodic jobs outside the apps' tasks.py modules.
PROCRASTINATE_IMPORT_PATHS = ["rri_forms.scheduled"]
# How often the periodic check for jobs of dead workers runs (cron, optional 6th field for
# seconds); tests shorten it.
JOB_STALLED_CHECK_CRON = env_str("JOB_STALLED_CHECK_CRON", "* * * * *")
# Team analytics: scopes above these sizes are fitted by a job, below in the request.
TEAM_FIT_IN_REQUEST_MAX_SESSIONS = env_int("TEAM_FIT_IN_REQUEST_MAX_SESSIONS", 5000)
TEAM_FIT_IN_REQUEST_MAX_FORMS = env_int("TEAM_FIT_IN_REQUEST_MAX_FORMS", 3000)
# Finished jobs are kept this long for the health page; failed jobs are never removed.
JOB_KEEP_HOURS = env_int("JOB_KEEP_HOURS", 7 * 24)
# Retention of sign-in records (docs/security.md "Retention"): the daily job prunes the
# failed and successful sign-in logs older than this.
AUTH_LOG_RETENTION_DAYS = env_int("AUTH_LOG_RETENTION_DAYS", 365)

# --- Rate limits: counters in PostgreSQL (docs/security.md "Rate limits") -------------
# "N/period", period s, m, h or d with an optional multiple: 20/h, 60/10m, 5/d.
RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
RATELIMITS = {
    "link_open_token": env_str("RATELIMIT_LINK_OPEN_TOKEN", "20/h"),
    "link_open_ip": env_str("RATELIMIT_LINK_OPEN_IP", "60/10m"),
    "link_guess_ip": env_str("RATELIMIT_LINK_GUESS_IP", "20/10m"),
    "client_submit_link": env_str("RATELIMIT_CLIENT_SUBMIT_LINK", "20/h"),
    "client_submit_ip": env_str("RATELIMIT_CLIENT_SUBMIT_IP", "60/10m"),
    "client_draft_link": env_str("RATELIMIT_CLIENT_DRAFT_LINK", "600/h"),  # saves as they go
    "link_email_staff": env_str("RATELIMIT_LINK_EMAIL_STAFF", "10/h"),
    "link_email_client": env_str("RATELIMIT_LINK_EMAIL_CLIENT", "5/d"),
    "login_ip": env_str("RATELIMIT_LOGIN_IP", "30/10m"),  # sign-in attempts per address
}
# Reverse proxies in front of the app that append to X-Forwarded-For. 0: the client's
# address is REMOTE_ADDR and X-Forwarded-For is ignored (it is whatever the client sent).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
