"""Django settings, derived entirely from `quietroom.config` (environment variables).

Nothing here should be edited per installation: set the variables documented in
docs/self-hosting/configuration.md instead.
"""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import unquote, urlsplit

import dj_database_url

from quietroom.config import ConfigError, load_config
from quietroom.core.body_limit import ITEM_BODY_MAX
from quietroom.core.static import static_headers

try:
    CONFIG = load_config()
except ConfigError as exc:
    # Refuse to start with an unusable configuration, naming the variable, without a traceback.
    sys.stderr.write(f"quietroom: configuration error: {exc}\n")
    raise SystemExit(2) from None

SECRET_KEY = CONFIG.secret_key
DEBUG = CONFIG.debug
ALLOWED_HOSTS = sorted({CONFIG.public_host, "127.0.0.1", "localhost"})
CSRF_TRUSTED_ORIGINS = [CONFIG.public_url]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "channels",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.headless",
    "allauth.usersessions",
    "quietroom.core",
    "quietroom.accounts",
    "quietroom.practices",
    "quietroom.realtime",
    "quietroom.audit",
    "quietroom.keys",
    "quietroom.directory",
    "quietroom.messaging",
]

MIDDLEWARE = [
    "quietroom.core.middleware.SecurityHeadersMiddleware",
    "quietroom.core.middleware.RequestSizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "quietroom.accounts.middleware.IdleLogoffMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "quietroom.core.middleware.JsonErrorMiddleware",
    # Inside the JSON error middleware, so that allauth turns its own ImmediateHttpResponse
    # exceptions into their responses before anything treats them as unhandled errors.
    "allauth.account.middleware.AccountMiddleware",
    "quietroom.accounts.mfa_gate.MfaGateMiddleware",  # staff without a second factor: 403
    "quietroom.keys.middleware.AtomicPasswordChangeMiddleware",  # §9: one transaction
]

ROOT_URLCONF = "quietroom.urls"
ASGI_APPLICATION = "quietroom.asgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
APPEND_SLASH = False  # a redirect on a POST would drop the body; routes are exact

TEMPLATES: list[dict[str, Any]] = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": []},
    }
]

# --- Database -----------------------------------------------------------------------------
if CONFIG.database_url and not CONFIG.database_url.startswith("sqlite"):
    # No persistent connections: under ASGI each request runs in a thread of its own, and a
    # kept connection outlives its thread, so 50 busy clients exhausted max_connections
    # (bench/messaging.py). Django's docs ask ASGI deployments to turn them off.
    _db = dj_database_url.parse(CONFIG.database_url, conn_max_age=0)
    _db.setdefault("OPTIONS", {})
    _db["OPTIONS"].setdefault("connect_timeout", 5)
    DATABASES: dict[str, Any] = {"default": _db}
    _test_name = f"test_{_db.get('NAME') or 'quietroom'}"
else:
    _path = (unquote(urlsplit(CONFIG.database_url).path) if CONFIG.database_url else None) or str(
        CONFIG.database_path
    )
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _path,
            "OPTIONS": {
                # WAL lets readers and a writer work at once; synchronous=FULL makes an
                # acknowledged commit survive power loss (INT-05). IMMEDIATE takes the write lock
                # at BEGIN, so concurrent writers queue instead of failing mid-transaction.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                " PRAGMA foreign_keys=ON;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
    # The browser tests' server process must see the test database, so it is a file.
    _test_name = str(CONFIG.data_dir / "test.sqlite3")
DATABASES["default"]["TEST"] = {"NAME": _test_name}
DATABASES["default"]["ATOMIC_REQUESTS"] = False

# --- Cache (rate-limit counters must be shared by all workers, so never per-process memory) --
if CONFIG.redis_url:
    CACHES: dict[str, Any] = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CONFIG.redis_url,
        }
    }
    CHANNEL_LAYERS: dict[str, Any] = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [CONFIG.redis_url]},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "quietroom_cache",
        }
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "quietroom.realtime.layers.InProcessChannelLayer"}}

# --- Files --------------------------------------------------------------------------------
STORAGES: dict[str, Any] = {
    # Blobs are ciphertext; they are served only through authorised API views, never by URL.
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(CONFIG.blob_dir), "base_url": None},
    },
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
STATIC_URL = "/assets/"
WEB_DIST = CONFIG.web_dist
# The built web client is served from the site root by WhiteNoise. Vite names every asset by
# its content hash, so those may be cached for ever; index.html is served by a view (no-store).
WHITENOISE_ROOT = str(WEB_DIST) if WEB_DIST.is_dir() else None
WHITENOISE_AUTOREFRESH = False
WHITENOISE_ADD_HEADERS_FUNCTION = static_headers
WHITENOISE_IMMUTABLE_FILE_TEST = r"^.+[.-][0-9A-Za-z_-]{8,}\.(?:js|css|wasm|woff2|svg|png)$"

# --- Requests -----------------------------------------------------------------------------
# Django's own cap on request.body; the per-path limits (core.body_limit) are the real gate,
# and only the item upload path reaches this size.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(CONFIG.max_request_bytes, ITEM_BODY_MAX)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200
FILE_UPLOAD_MAX_MEMORY_SIZE = CONFIG.max_request_bytes
MAX_REQUEST_BYTES = CONFIG.max_request_bytes

# --- Security -----------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 60 * 60  # absolute lifetime (AU-08)
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_USE_SESSIONS = False  # the web client reads the CSRF cookie to send X-CSRFToken
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "no-referrer"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "quietroom.core.views.csrf_failure"
if CONFIG.tls:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # The __Host- prefix pins the cookie to this exact origin over HTTPS (TX-01).
    SESSION_COOKIE_NAME = "__Host-qr-session"
    CSRF_COOKIE_NAME = "__Host-qr-csrf"
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = CONFIG.hsts_seconds
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_REDIRECT_EXEMPT = [r"^api/health$"]  # the local health probe speaks plain HTTP
else:
    SESSION_COOKIE_NAME = "qr-session"
    CSRF_COOKIE_NAME = "qr-csrf"
if CONFIG.trusted_proxy:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]

# --- Sign-in (allauth headless; docs/api/http.md) ------------------------------------------
# The "password" allauth sees is the authKey the browser derives (crypto-protocol.md §3.5);
# the real password never reaches the server, so its strength rules run in the browser.
AUTH_PASSWORD_VALIDATORS = [{"NAME": "quietroom.accounts.validators.AuthKeyValidator"}]
AUTHENTICATION_BACKENDS = ["allauth.account.auth_backends.AuthenticationBackend"]

HEADLESS_ONLY = True
HEADLESS_CLIENTS = ("browser",)  # same-origin web client: session cookie + CSRF, no tokens
HEADLESS_SERVE_SPECIFICATION = False  # its page loads scripts from a CDN, which the CSP forbids
# Links in emails point at the web client's pages.
HEADLESS_FRONTEND_URLS = {
    "account_confirm_email": f"{CONFIG.public_url}/verify-email/{{key}}",
    "account_reset_password": f"{CONFIG.public_url}/reset-password",
    # The key rides in the fragment, which browsers never send: it stays out of access logs.
    "account_reset_password_from_key": f"{CONFIG.public_url}/reset-password#key={{key}}",
    "account_signup": f"{CONFIG.public_url}/sign-in",  # signup is by invitation only
}
ACCOUNT_ADAPTER = "quietroom.accounts.adapters.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]  # one authKey field: no typing it twice
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"  # sign-in and MFA enrolment need a verified address
ACCOUNT_LOGIN_BY_CODE_ENABLED = False  # gives no key to unlock with (§3.5), widens the way in
ACCOUNT_PREVENT_ENUMERATION = True  # known and unknown emails get the same answers (AU-03)
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False  # do not mail strangers whose address someone typed
ACCOUNT_EMAIL_NOTIFICATIONS = True  # tell people of every credential change (AU-07)
ACCOUNT_SESSION_REMEMBER = False  # the cookie ends with the browser; the server limits below
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False  # §9.1: this session confirms the new key wrap
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False  # a reset restores sign-in only, and MFA still applies
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if CONFIG.tls else "http"
PASSWORD_RESET_TIMEOUT = 10 * 60  # reset links work once and for ten minutes (AU-07)
# Brute force (AU-02): allauth's counters live in the default cache, which is shared by all
# workers (the database cache, or Redis). 5 failures per account in any 5 minutes, then the
# account waits until the oldest failure is 5 minutes old; 10 per address per minute.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "prelogin": "30/m/ip",  # POST /api/keys/prelogin
    "setup": "30/m/ip",  # POST /api/setup/*
}
# A hard ceiling per account on top, which neither a password reset nor the limits above lift.
LOGIN_FAILURE_CEILING_PER_HOUR = 100

MFA_ADAPTER = "quietroom.accounts.adapters.MFAAdapter"  # seals TOTP secrets and seeds (AU-06)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_PASSKEY_SIGNUP_ENABLED = False  # signup is by invitation only
MFA_TRUST_ENABLED = False  # no "trust this browser": no sign-in skips the second factor (AU-01)
MFA_TOTP_TOLERANCE = 0  # only the current 30-second code
MFA_TOTP_ISSUER = "Quietroom"  # the name authenticator apps show; allauth's default is the host
# WebAuthn needs a secure origin; plain http is only ever allowed on loopback (see config.py).
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = not CONFIG.tls
USERSESSIONS_ADAPTER = "quietroom.accounts.adapters.UserSessionsAdapter"
USERSESSIONS_TRACK_ACTIVITY = False  # IdleLogoffMiddleware keeps the activity time instead

# Automatic logoff (AU-08), enforced by quietroom.accounts.middleware.IdleLogoffMiddleware.
IDLE_LOGOFF_STAFF_SECONDS = CONFIG.idle_staff_minutes * 60  # owners, admins, therapists
IDLE_LOGOFF_CLIENT_SECONDS = CONFIG.idle_client_minutes * 60
SESSION_ABSOLUTE_SECONDS = SESSION_COOKIE_AGE  # from sign-in, however active
SESSION_ACTIVITY_WRITE_SECONDS = 60  # record activity at most once a minute

# --- Email --------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = CONFIG.default_from_email
SERVER_EMAIL = CONFIG.default_from_email
_email = urlsplit(CONFIG.email_url)
if _email.scheme == "outbox":
    # Development and tests: each email is a file the developer can read; nothing is sent.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(CONFIG.data_dir / "outbox")
else:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _email.hostname or ""
    EMAIL_PORT = _email.port or (465 if _email.scheme == "smtps" else 587)
    EMAIL_HOST_USER = unquote(_email.username or "")
    EMAIL_HOST_PASSWORD = unquote(_email.password or "")
    EMAIL_USE_SSL = _email.scheme == "smtps"
    EMAIL_USE_TLS = _email.scheme == "smtp+starttls"
    EMAIL_TIMEOUT = 20

# --- Logging: structured, and never a request body (AUD-03) --------------------------------
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "quietroom.core.logging.JsonFormatter"}},
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "json"},
        "file": {
            "class": "logging.handlers.WatchedFileHandler",
            "filename": str(CONFIG.log_dir / "quietroom.log"),
            "formatter": "json",
        },
    },
    "root": {"handlers": ["stderr", "file"], "level": CONFIG.log_level},
    "loggers": {
        # Django's request logger would print the request path and, for 500s, local variables
        # of the failing frame; our JSON error middleware logs a sanitised line instead.
        "django.request": {"handlers": [], "level": "ERROR", "propagate": False},
        "django.security.DisallowedHost": {"handlers": ["stderr", "file"], "propagate": False},
    },
}

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

NINJA_PAGINATION_MAX_LIMIT = 200
