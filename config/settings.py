"""Settings for the group-chat platform.

Everything comes from environment variables (documented in README.md) with safe local defaults.
With nothing set, the platform runs on the *embedded default*: an SQLite file, the in-memory channel
layer and eager Celery tasks. ``DATABASE_URL`` and ``REDIS_URL`` switch to PostgreSQL and Redis.
``DJANGO_ENV=production`` demands a real secret key and host names and turns on every deploy check.
"""

import base64
import hashlib
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "production"}:
    raise ImproperlyConfigured("DJANGO_ENV must be 'development' or 'production'")
PRODUCTION = DJANGO_ENV == "production"

DEBUG = env.bool("DJANGO_DEBUG", default=not PRODUCTION)

_DEV_SECRET_KEY = "dev-only-insecure-key-never-use-in-production-0123456789abcdefghijkl"  # noqa: S105
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set in production (50+ random characters)")
    SECRET_KEY = _DEV_SECRET_KEY
elif PRODUCTION and (SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be a real secret of 50+ characters in production")

# Personal information at rest (R6.3): AES-GCM keys "kid:base64key" (first is current) and the HMAC key
# for look-ups. Development derives throwaway keys from the secret key; production must set both.
_dev_field_key = base64.urlsafe_b64encode(hashlib.sha256(f"field:{SECRET_KEY}".encode()).digest()).decode()
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEYS", default=[] if PRODUCTION else [f"dev1:{_dev_field_key}"]
)
FIELD_HASH_KEY = env.str("FIELD_HASH_KEY", default="" if PRODUCTION else f"hash:{SECRET_KEY}")
if PRODUCTION and (not FIELD_ENCRYPTION_KEYS or len(FIELD_HASH_KEY) < 32):
    raise ImproperlyConfigured(
        "FIELD_ENCRYPTION_KEYS and FIELD_HASH_KEY (32+ characters) must be set in production; "
        "`python manage.py generate_field_key` prints a new key"
    )

ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=[] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("DJANGO_ALLOWED_HOSTS must list the platform's host names in production")
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "guardian",
    "django_celery_beat",
    "csp",
    "common",
    "audit",
    "notifications",
    "screening",
    "identity",
    "credit",
    "groups",
    "moderation",
    "reports",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A database or Redis out of reach answers 503 (page or JSON) with Retry-After; before the session
    # middleware, so that a failed session save is covered too.
    "common.unavailable.ServiceUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "common.middleware.ChineseFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "identity.middleware.SuspendedAccountGate",
    "audit.middleware.NetworkLogMiddleware",
    "common.input_guard.InputGuardMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notifications.context_processors.unread_notifications",
                "groups.context_processors.platform_notices",
            ],
        },
    },
]

# Database: the embedded default is an SQLite file beside the project.
SQLITE_PATH = env.str("SQLITE_PATH", default=str(BASE_DIR / "db.sqlite3"))
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{SQLITE_PATH}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
# Persistent connections on PostgreSQL: the chat socket's database work would otherwise open a new
# connection for every message. Health checks replace a connection the server has dropped.
DATABASES["default"].setdefault(
    "CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60 if _POSTGRES else 0)
)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if _POSTGRES:
    # A database host that does not answer fails a request after this many seconds (503, see
    # common/unavailable.py) instead of holding it for the operating system's minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )
    # ChannelsLiveServerTestCase and parallel runs need an explicit test database name.
    DATABASES["default"]["TEST"] = {"NAME": env.str("DATABASE_TEST_NAME", default="test_qunzu")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "identity.User"
AUTHENTICATION_BACKENDS = [
    "identity.backends.PhoneOrUsernameBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # no guardian anonymous row at migrate time
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Language and time: Chinese first, English available; stored in UTC, shown in Asia/Shanghai.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# collectstatic target (production image); in development whitenoise serves straight from the finders.
STATIC_ROOT = (
    env.str("DJANGO_STATIC_ROOT", default=str(BASE_DIR / "staticfiles") if PRODUCTION else "") or None
)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

# Pictures and files sent in chat: a private store, never served at a public address (the file view checks
# membership, then hands out a link that lives ATTACHMENT_URL_SECONDS and streams the file itself).
# "filesystem" keeps them under MEDIA_ROOT; "s3" in a private bucket of any S3-compatible object store
# (MinIO in docker-compose.yml), which browsers never reach.
MEDIA_ROOT = env.str("DJANGO_MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))
ATTACHMENT_STORAGE = env.str("ATTACHMENT_STORAGE", default="filesystem")
ATTACHMENT_URL_SECONDS = env.int("ATTACHMENT_URL_SECONDS", default=60)
if ATTACHMENT_STORAGE == "s3":
    STORAGES["attachments"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("ATTACHMENT_S3_BUCKET", default="qunzu-attachments"),
            "endpoint_url": env.str("ATTACHMENT_S3_ENDPOINT", default="") or None,
            "access_key": env.str("ATTACHMENT_S3_ACCESS_KEY", default="") or None,
            "secret_key": env.str("ATTACHMENT_S3_SECRET_KEY", default="") or None,
            "region_name": env.str("ATTACHMENT_S3_REGION", default="") or None,
            "default_acl": None,  # the bucket stays private
            "file_overwrite": False,
        },
    }
else:
    STORAGES["attachments"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(Path(MEDIA_ROOT) / "attachments"), "base_url": "/files/"},
    }

# Redis: channel layer, Celery broker and cache. Without REDIS_URL everything stays in process.
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py's 5 s socket timeout equals the layer's blocking wait and drops idle sockets; its
            # default of 100 pooled connections fails when hundreds of sockets close at once.
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15, "max_connections": 1000}],
                "capacity": 1000,
                "expiry": 30,
            },
        }
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL or "cache+memory://")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# With acks_late, a task whose worker died (killed, out of memory, the host lost) stays unacknowledged in
# Redis and is handed to a worker again once this many seconds have passed since it was taken: longer than
# the longest task (else a running task is started a second time), short enough to resume soon.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {  # installed into django-celery-beat, where staff can change them
    "seal-network-logs": {"task": "audit.network_log_seal", "schedule": 300.0},
    "verify-audit-chain": {"task": "audit.verify", "schedule": 3600.0},
    "retention-purge": {"task": "audit.retention_purge", "schedule": 24 * 3600.0},
    "credit-good-standing": {"task": "credit.good_standing", "schedule": 6 * 3600.0},  # idempotent per day
    "notification-sms-flush": {"task": "notifications.sms_flush", "schedule": 600.0},
    "group-activity": {"task": "groups.activity_compute", "schedule": 24 * 3600.0},
    # R12.1: the review queue follows its sources, and overdue items are escalated to supervisors (the
    # queue's own settings, MODERATION_QUEUE_PRIORITY_BASE, _PRIORITY_WEIGHTS, _DEADLINE_HOURS,
    # _CLAIM_MINUTES, _PAGE_SIZE, _COUNT_CAP, _SYNC_SECONDS and MODERATION_HISTORY_DAYS, may be set here;
    # their defaults and meaning are in moderation/rules.py).
    "review-queue-sync": {"task": "moderation.review_queue_sync", "schedule": 60.0},
    "review-queue-escalate": {"task": "moderation.review_queue_escalate", "schedule": 300.0},
    "sanctions-expire": {"task": "moderation.sanctions_expire", "schedule": 300.0},  # idempotent
    "sanction-rechecks": {"task": "moderation.sanction_rechecks", "schedule": 900.0},  # once per warning
    # R11.4: regulator reports are generated (idempotent) and the due ones delivered, retried with backoff.
    "regulator-reports": {"task": "reports.reports_generate_and_deliver", "schedule": 300.0},
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "common.api.ApiAutoSchema",  # the refusals every operation may answer
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "common.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON refused in the person's language (too deep, not UTF-8); forms still accepted, not documented.
    "DEFAULT_PARSER_CLASSES": [
        "common.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Qunzu group chat API",
    "DESCRIPTION": "Group chat under the Internet Group Information Service Management Provisions.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    # The API is documented as JSON (uploads name multipart themselves); form bodies are tolerated.
    "PARSER_WHITELIST": ["common.parsers.JSONParser"],
    # Choice sets that share a field name ("kind") get their own component names.
    "ENUM_NAME_OVERRIDES": {
        "ReviewKindEnum": "moderation.models.ReviewKind",
        "SanctionKindEnum": "moderation.models.SanctionKind",
    },
}

# Regulator reports (R11.4): signing keys "kid:secret,..." (the first signs; all verify), the directory
# drop (default delivery) or an HTTPS endpoint, the endpoint's timeout and the retry backoff.
REPORTS_SIGNING_KEYS = env.str(
    "REPORTS_SIGNING_KEYS", default="" if PRODUCTION else "dev-1:development-only-report-signing-key"
)
REPORTS_DROP_DIR = env.str("REPORTS_DROP_DIR", default=str(BASE_DIR / "var" / "reports"))
REPORTS_ENDPOINT_URL = env.str("REPORTS_ENDPOINT_URL", default="")
REPORTS_HTTP_TIMEOUT = env.float("REPORTS_HTTP_TIMEOUT", default=10.0)
REPORTS_RETRY_BASE_SECONDS = env.int("REPORTS_RETRY_BASE_SECONDS", default=60)
REPORTS_RETRY_MAX_SECONDS = env.int("REPORTS_RETRY_MAX_SECONDS", default=6 * 3600)
# Names this deployment in report idempotency keys, so two deployments reporting to one authority never
# collide.
REPORTS_INSTANCE_ID = env.str("REPORTS_INSTANCE_ID", default="default")
# A day (week, month) is summarised only this long after its local midnight, so late commits are counted.
REPORTS_SUMMARY_GRACE_SECONDS = env.int("REPORTS_SUMMARY_GRACE_SECONDS", default=900)

# Inspector access (R13.1): the longest a single grant may last (grant again to extend it).
INSPECTION_GRANT_MAX_DAYS = env.int("INSPECTION_GRANT_MAX_DAYS", default=90)

# Identity (R6.1-R6.3): verifier backend, accounts per ID number, SMS codes and login throttling.
IDENTITY_VERIFIER = env.str("IDENTITY_VERIFIER", default="fake")  # fake | staff | result_only
IDENTITY_ACCOUNTS_PER_ID = env.int("IDENTITY_ACCOUNTS_PER_ID", default=1)
IDENTITY_GUARDIAN_AGE = 14
IDENTITY_REVEAL_REASON_MIN = 5
IDENTITY_SUBMISSIONS_PER_DAY = env.int("IDENTITY_SUBMISSIONS_PER_DAY", default=5)
SMS_BACKEND = env.str("SMS_BACKEND", default="common.sms.ConsoleBackend")
SMS_FILE_PATH = env.str("SMS_FILE_PATH", default=str(BASE_DIR / "var" / "sms.jsonl"))
SMS_CODE_TTL_SECONDS = 300
SMS_CODE_MAX_ATTEMPTS = 5
SMS_RESEND_SECONDS = env.int("SMS_RESEND_SECONDS", default=60)
SMS_MAX_PER_NUMBER_PER_DAY = 10
SMS_MAX_PER_IP_PER_HOUR = env.int("SMS_MAX_PER_IP_PER_HOUR", default=20)
LOGIN_SLOWDOWN_AFTER = 3  # failures before each further try must wait (doubling)
LOGIN_LOCK_AFTER = 10  # failures before the account (or address) is locked
LOGIN_LOCK_SECONDS = 15 * 60
LOGIN_FAILURE_WINDOW_SECONDS = 60 * 60

# Logs and retention (R13.2): days per record class; nothing goes below 180 days (a system check and the
# purge both refuse). Digests of the network logs are also appended, signed, to a file outside the database.
RETENTION_DAYS = {
    "audit_events": env.int("RETENTION_AUDIT_EVENTS_DAYS", default=3 * 365),
    "network_logs": env.int("RETENTION_NETWORK_LOGS_DAYS", default=184),
    "removed_messages": env.int("RETENTION_REMOVED_MESSAGES_DAYS", default=184),
    "evidence_snapshots": env.int("RETENTION_EVIDENCE_DAYS", default=3 * 365),
    "retention_locked_accounts": env.int("RETENTION_LOCKED_ACCOUNTS_DAYS", default=184),
}
# Notifications: text messages at most this many a day per person, never in the quiet hours (local time,
# start and end hour; "22,8" holds them from 22:00 to 08:00).
NOTIFY_SMS_PER_DAY = env.int("NOTIFY_SMS_PER_DAY", default=5)
NOTIFY_QUIET_HOURS = tuple(env.list("NOTIFY_QUIET_HOURS", cast=int, default=[22, 8]))
SMS_SIGNATURE = env.str("SMS_SIGNATURE", default="群组")

# Credit (R7.3): points per event; the levels and their capabilities are a table staff edit.
CREDIT_POINTS = {
    "identity_verified": env.int("CREDIT_POINTS_IDENTITY_VERIFIED", default=10),
    "good_standing": env.int("CREDIT_POINTS_GOOD_STANDING", default=1),
}
CREDIT_QUIET_DAYS = env.int("CREDIT_QUIET_DAYS", default=30)  # no penalty this long: good standing
CREDIT_ADJUST_APPROVAL_THRESHOLD = env.int("CREDIT_ADJUST_APPROVAL_THRESHOLD", default=20)
SCREENING_VERSION_CHECK_SECONDS = env.float("SCREENING_VERSION_CHECK_SECONDS", default=1.0)
AUDIT_VERIFY_WORKERS = env.int("AUDIT_VERIFY_WORKERS", default=2)  # parallel ranges on PostgreSQL
RETENTION_PURGE_PAUSE_SECONDS = env.float("RETENTION_PURGE_PAUSE_SECONDS", default=0.02)
AUDIT_DIGEST_EXPORT_PATH = env.str(
    "AUDIT_DIGEST_EXPORT_PATH", default=str(BASE_DIR / "var" / "audit-digests.jsonl")
)
AUDIT_DIGEST_KEY = env.str("AUDIT_DIGEST_KEY", default="" if PRODUCTION else f"digest:{SECRET_KEY}")
if PRODUCTION and len(AUDIT_DIGEST_KEY) < 32:
    raise ImproperlyConfigured("AUDIT_DIGEST_KEY (32+ characters) must be set in production")
# Proxies whose X-Forwarded-For / X-Client-Port headers are believed for the client address and port.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
CLIENT_PORT_HEADER = env.str("CLIENT_PORT_HEADER", default="HTTP_X_CLIENT_PORT")

# Chat limits are data: the policies read them from here.
GROUP_MAX_MEMBERS = env.int("GROUP_MAX_MEMBERS", default=500)  # R8.1, for a group without a category
GROUP_INFO_PAGE_THRESHOLD = env.int("GROUP_INFO_PAGE_THRESHOLD", default=100)  # R8.3: public info page
GROUP_DEFAULT_CATEGORY = env.str("GROUP_DEFAULT_CATEGORY", default="social")
GROUP_MAX_ADMINS = env.int("GROUP_MAX_ADMINS", default=10)  # R8.6: admins per group
# R7.1: activity levels from messages in the last seven days, ascending (level, at least this many).
GROUP_ACTIVITY_THRESHOLDS = (("quiet", 0), ("normal", 20), ("active", 200), ("very_active", 2000))
CHAT_MESSAGE_MAX_LENGTH = env.int("CHAT_MESSAGE_MAX_LENGTH", default=2000)
CHAT_HISTORY_PAGE_MAX = env.int("CHAT_HISTORY_PAGE_MAX", default=200)
# R5.1: the longest an emergency measure may be declared for (a longer one is declared again).
EMERGENCY_MAX_DAYS = env.int("EMERGENCY_MAX_DAYS", default=30)
# R7.2: the operator named on the filing document (a placeholder asks for it while empty).
FILING_OPERATOR_NAME = env.str("FILING_OPERATOR_NAME", default="")
# Events waiting for one socket before it is closed (its client stopped reading; it resumes on reconnect).
CHAT_SOCKET_BACKLOG = env.int("CHAT_SOCKET_BACKLOG", default=2000)
# Threads per server process doing the database work of chat sends, each with its own connection (SQLite
# writes one at a time: one thread there). Plan PostgreSQL's connections for this many per worker.
CHAT_SEND_THREADS = env.int("CHAT_SEND_THREADS", default=4 if _POSTGRES else 1)
# How long a sender may recall their message (seconds); the record stays as evidence either way.
CHAT_RECALL_SECONDS = env.int("CHAT_RECALL_SECONDS", default=120)
# At most this many members are notified of one message's @mentions.
CHAT_MENTIONS_MAX = env.int("CHAT_MENTIONS_MAX", default=20)
CHAT_SEARCHES_PER_MINUTE = env.int("CHAT_SEARCHES_PER_MINUTE", default=30)
# The largest upload anyone may send (bytes), refused before the body is read; each credit level has its own
# lower limit (max_upload_mb). Pictures above ATTACHMENT_MAX_PIXELS are refused (decompression bombs).
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=20 * 1024 * 1024)
ATTACHMENT_MAX_PIXELS = env.int("ATTACHMENT_MAX_PIXELS", default=40_000_000)
ATTACHMENT_THUMBNAIL_PX = env.int("ATTACHMENT_THUMBNAIL_PX", default=480)
# Only the benchmark settings enable the bare echo socket route.
CHAT_BENCH_ECHO_ROUTE = False

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# Production hardening (checked by `manage.py check --deploy --fail-level WARNING` in the tests).
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every page: scripts only from this site's own files (no inline script, no
# handlers in attributes, no eval), connections (the chat socket) only to this site, nothing may frame
# it. Inline styles stay allowed: the dashboard's SVG charts carry their own <style>. The API's Swagger UI
# (a developer tool that loads its bundle from a CDN) is left out.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/docs/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
SESSION_COOKIE_HTTPONLY = True
if PRODUCTION:
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
    if env.bool("DJANGO_BEHIND_TLS_PROXY", default=True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REFERRER_POLICY = "same-origin"
