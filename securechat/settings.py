"""SecureChat settings, read once from the environment.

Every variable is documented in the README's configuration table. With none set, the
project runs on its embedded defaults: a SQLite file and the in-memory channel layer.
"""

from pathlib import Path

import environ
from csp.constants import NONE, SELF

from securechat.secret import load_or_create_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

# Where the embedded defaults keep their state (SQLite file, generated secret key).
DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DEBUG", default=False)
# A generated key persisted in DATA_DIR keeps sessions and the pre-login fake salts
# stable across restarts without shipping a known key.
SECRET_KEY = env.str("SECRET_KEY", default="") or load_or_create_secret_key(DATA_DIR / "secret_key")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Served over TLS (directly, or behind a proxy in TRUSTED_PROXIES that sets X-Forwarded-Proto).
HTTPS = env.bool("HTTPS", default=False)

# --- Who is asking: the client's address and scheme, and which pages may open a socket ---------------------------
# The reverse proxies in front of daphne, as addresses or CIDR networks (e.g. "172.30.80.0/24"). Only when the TCP
# peer is one of them are its X-Forwarded-For (right-most entry that is not a trusted proxy) and X-Forwarded-Proto
# believed, for HTTP and WebSocket alike; from anyone else they are dropped (securechat/proxy_headers.py). Empty: no
# proxy, the peer is the client. A WebSocket opens only from the site's own origin (scheme, host and port, as the
# handshake reached it) or one in CSRF_TRUSTED_ORIGINS (securechat/websocket_origin.py).
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# --- end of who is asking -----------------------------------------------------------------------------------------

INSTALLED_APPS = [
    "daphne",
    "securechat.apps.SecureChatAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "csp",
    "accounts",
    "chat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "securechat.urls"
ASGI_APPLICATION = "securechat.asgi.application"
WSGI_APPLICATION = None

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
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so a test server in another process sees the test data.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test-db.sqlite3")}
    # Concurrent requests in one server: writers queue (IMMEDIATE takes the write lock up front instead
    # of failing with "database is locked" when a reader upgrades), and WAL lets readers run meanwhile.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # A database that stops answering fails fast instead of holding a worker's database thread: connecting
    # gives up after 5 s, and keepalives find a connection whose server went away.
    DATABASES["default"]["OPTIONS"] = {
        "connect_timeout": 5,
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
        **DATABASES["default"].get("OPTIONS", {}),
    }

REDIS_URL = env.str("REDIS_URL", default="")
# Lets several deployments (or test runs) share one Redis without sharing groups or counters.
REDIS_KEY_PREFIX = env.str("CACHE_KEY_PREFIX", default="securechat")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # channels_redis blocks up to 5 s per read; redis-py 8 gives up reading after 5 s by
                # default, which killed idle consumers (and closed their sockets) every 5 s.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 30, "socket_keepalive": True}],
                "prefix": f"{REDIS_KEY_PREFIX}:asgi",
                # Room for bursts: past this, the layer drops messages for a worker's sockets (the
                # clients recover them through sync, but only when they next reconnect).
                "capacity": 1000,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# The cache holds state every worker must share (throttle counters), so it lives in Redis
# whenever there can be more than one worker.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CACHES["default"]["KEY_PREFIX"] = REDIS_KEY_PREFIX

# Largest WebSocket message daphne accepts; an envelope for 256 members with 16 000
# characters of text is about 120 KiB. Passed to daphne by the Makefile and compose.
WEBSOCKET_MAX_MESSAGE_BYTES = 262_144

# Envelopes one user may send per minute, counted across all workers.
SEND_RATE_PER_MINUTE = env.int("SEND_RATE_PER_MINUTE", default=120)
# Consent (SECURITY.md, "Invitations"): rooms one account may be in (accepted), invitations waiting for one account's
# answer, and invitations one account may have waiting for others' answers at once.
ROOMS_PER_USER_MAX = env.int("ROOMS_PER_USER_MAX", default=1000)
PENDING_INVITATIONS_MAX = env.int("PENDING_INVITATIONS_MAX", default=100)
INVITATIONS_OUTSTANDING_MAX = env.int("INVITATIONS_OUTSTANDING_MAX", default=50)
# An exact-name key lookup lets the asker name that account in a room (add, direct conversation) for this long.
INTRODUCTION_SECONDS = env.int("INTRODUCTION_SECONDS", default=24 * 60 * 60)
# Open chat sockets (tabs and devices) one user may hold at once, counted across all workers.
SOCKETS_PER_USER = env.int("SOCKETS_PER_USER", default=20)

# --- Work per chat socket (SECURITY.md, "Limits"; docs/DECISIONS.md, "Bounded work per socket") ---
# Requests one chat socket may make per minute, counted in memory in a bucket that holds a minute's worth: as many
# at once, then evenly over the minute. Over it a request is answered `rate_limited` (a typing notice is dropped).
SOCKET_HISTORY_PER_MINUTE = env.int("SOCKET_HISTORY_PER_MINUTE", default=60)
SOCKET_SYNC_PER_MINUTE = env.int("SOCKET_SYNC_PER_MINUTE", default=120)
SOCKET_TYPING_PER_MINUTE = env.int("SOCKET_TYPING_PER_MINUTE", default=30)
# Roster pages read, and roster entries appended (each a signed change of a room), per chat socket per minute.
SOCKET_ROSTER_PER_MINUTE = env.int("SOCKET_ROSTER_PER_MINUTE", default=600)
SOCKET_APPEND_PER_MINUTE = env.int("SOCKET_APPEND_PER_MINUTE", default=30)
# Pages of the user's rooms (`rooms`, after `ready`): a page holds up to 100 rooms, fewer of large ones (about 20 of
# 256 members), so 120 at once lists thousands of rooms at connect before the rate is felt.
SOCKET_ROOMS_PER_MINUTE = env.int("SOCKET_ROOMS_PER_MINUTE", default=120)
# Read positions moved (`read`): a page sends one as the newest message in view changes, at most one a second.
SOCKET_READ_PER_MINUTE = env.int("SOCKET_READ_PER_MINUTE", default=120)
# Output a socket may leave unsent in the worker (its client reads too slowly, or not at all); a frame that would
# pass it closes the socket with 4013 instead, and the client reconnects and syncs.
SOCKET_UNSENT_MAX_BYTES = env.int("SOCKET_UNSENT_MAX_BYTES", default=4 * 1024 * 1024)
# --- end of work per chat socket ---

# --- Accounts: requests per client address, and password hashing (accounts/limits.py, toolkit/hashing.py) ---
# Sign-ups from one address per hour: a household or an office behind one address signs up together.
SIGNUP_PER_ADDRESS_PER_HOUR = env.int("SIGNUP_PER_ADDRESS_PER_HOUR", default=20)
# An IPv6 client counts by its network of this prefix length: a home or phone holds a whole /64.
IPV6_LIMIT_PREFIX = env.int("IPV6_LIMIT_PREFIX", default=64)
# Pre-login and log-in requests from one address per minute, together (a browser's log-in makes one of each).
PRELOGIN_PER_ADDRESS_PER_MINUTE = env.int("PRELOGIN_PER_ADDRESS_PER_MINUTE", default=120)
# Recovery requests (begin and finish each count) from one address per hour.
RECOVERY_PER_ADDRESS_PER_HOUR = env.int("RECOVERY_PER_ADDRESS_PER_HOUR", default=20)
# Password hashes (Argon2: ~100 MiB, 8 lanes each) one worker computes at once; more wait their turn
# (toolkit/hashing.py). One hash already spreads over the cores, so more at once add memory, not speed.
PASSWORD_HASH_THREADS = env.int("PASSWORD_HASH_THREADS", default=1)
# Hashes running or waiting per worker; past it, a request that would hash is refused with 503 and Retry-After.
PASSWORD_HASH_QUEUE_MAX = env.int("PASSWORD_HASH_QUEUE_MAX", default=16)
# How much nicer (lower CPU priority) the hashing threads run than the chat's (0: the same).
PASSWORD_HASH_NICE = env.int("PASSWORD_HASH_NICE", default=10)
# --- end of accounts' limits ---

AUTH_USER_MODEL = "accounts.User"
# The "password" Django hashes is the auth key derived in the browser; Argon2 first.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
LOGIN_URL = "/accounts/login/"
CSRF_FAILURE_VIEW = "toolkit.api.csrf_failure"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(DATA_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "securechat.storage.StaticFilesStorage"},
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Security headers. The Content-Security-Policy allows only this origin's own static
# modules: no inline script, no eval, no CDN; connect-src 'self' covers ws(s) to it.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
# No SECURE_PROXY_SSL_HEADER: a request's scheme is the one securechat/proxy_headers.py decided (scope["scheme"]).
# /healthz answers plain HTTP probes from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
