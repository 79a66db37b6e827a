"""Settings for SuperEdge, read from the environment (django-environ), each variable once.

With nothing set, the site runs in development mode on SQLite with in-process cache, channel
layer and Celery. `DATABASE_URL` switches to PostgreSQL, `REDIS_URL` to Redis for the cache,
the channel layer and Celery. `DJANGO_DEBUG=false` turns on the production hardening that
`manage.py check --deploy` asks for. A `.env` file at the root is read only when
`DJANGO_READ_DOT_ENV_FILE=true` asks for it (its values do not override the environment's).

Reading these settings writes no file and no folder: the run commands make var/ and keep the
development secrets there (marketplace.devstate).
"""

from __future__ import annotations

import secrets
from pathlib import Path

import environ

from marketplace import devstate

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    environ.Env.read_env(BASE_DIR / ".env")

# Runtime state of a development checkout: SQLite file, uploads, dev secrets. Never committed.
VAR_DIR = Path(env.str("SUPEREDGE_VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=True)

# The secrets kept in var/ (marketplace.devstate), by setting: their variable.
VAR_SECRETS: dict[str, str] = {}


def _secret(variable: str, *, setting: str, nbytes: int) -> str:
    """The secret `variable` sets; required in production. With DEBUG on and none set, the one
    the checkout keeps in var/, else a random one (kept by the run commands)."""
    value = env.str(variable, default="" if DEBUG else environ.Env.NOTSET)
    if value or not DEBUG:
        return value
    VAR_SECRETS[setting] = variable
    return devstate.read_secret(VAR_DIR, variable) or secrets.token_urlsafe(nbytes)


SECRET_KEY = _secret("DJANGO_SECRET_KEY", setting="SECRET_KEY", nbytes=50)
# Wraps every dataset's own AES key; rotate by re-wrapping (datamarket.crypto).
DATASET_KEY_ENCRYPTION_KEY = _secret(
    "DATASET_KEY_ENCRYPTION_KEY", setting="DATASET_KEY_ENCRYPTION_KEY", nbytes=32
)

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
# A request refused for its CSRF token is told so in the site's words (a page, or JSON).
CSRF_FAILURE_VIEW = "frontend.errors.csrf_failure"
# Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For is believed: every per-client
# limit keys on the address they forwarded for (marketplace.clientip). Empty: REMOTE_ADDR.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    # Before allauth, so that our templates restyle its pages.
    "frontend",
    "allauth",
    "allauth.account",
    "marketplace.accounts",
    "marketplace.catalogue",
    "marketplace.chain",
    "marketplace.indexer",
    "marketplace.notifications",
    "marketplace.deals",
    "marketplace.orders",
    "dappstore",
    "datamarket",
    "pools",
    "marketplace.demo",
    # The site as a whole: its system checks, and how it tells clients apart (marketplace.apps).
    "marketplace",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "marketplace.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside the others: what they and Django answer under /api/ is JSON too.
    "marketplace.middleware.ApiErrorMiddleware",
    "marketplace.middleware.UploadSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # A page's form over Django's limits, refused as a page before the CSRF check reads it.
    "marketplace.middleware.FormLimitsMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "marketplace.indexer.api.IndexHeadersMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # A refusal (marketplace.errors.AppError) a page's view raises, shown as a page.
    "marketplace.middleware.AppErrorPageMiddleware",
    # In development, the site's 404 page rather than Django's list of URL patterns.
    "frontend.errors.DebugNotFoundMiddleware",
]

ROOT_URLCONF = "marketplace.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "frontend.context_processors.site",
                "frontend.context_processors.notifications",
                "marketplace.catalogue.pagecache.csrf_slot",
            ],
        },
    },
]

WSGI_APPLICATION = "marketplace.wsgi.application"
ASGI_APPLICATION = "marketplace.asgi.application"

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'superedge.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process read while background work writes.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        " PRAGMA busy_timeout=5000; PRAGMA cache_size=-65536; PRAGMA mmap_size=1073741824;",
    }
    # Request threads are reused (marketplace.asgi.RequestThreads), each keeping its connection
    # and the pages SQLite has cached in it, instead of opening the file at every request.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=600)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A process-wide pool (CONN_MAX_AGE must then be 0): request threads are reused
    # (marketplace.asgi.RequestThreads), but Celery's and the consumers' come and go, and the
    # pool bounds the server's connections whatever their number.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env.int("DB_POOL_MIN", default=2),
        "max_size": env.int("DB_POOL_MAX", default=16),
        "timeout": 10,
    }

# How many requests' Django code a server process runs at a time (marketplace.asgi.RequestSlots):
# the others queue, first come first served, unless one has waited SERVER_SLOT_WAIT_SECONDS.
SERVER_REQUEST_SLOTS = env.int("SERVER_REQUEST_SLOTS", default=2)
SERVER_SLOT_WAIT_SECONDS = env.float("SERVER_SLOT_WAIT_SECONDS", default=0.25)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="superedge"),
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    # No broker: tasks run in the calling process, after the surrounding transaction commits.
    CELERY_BROKER_URL = "memory://"
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
# The indexer runs as a beat task: each run follows the chain for a while, then hands over to the
# next (a lease in the database keeps it to one at a time, whatever the number of workers).
SCHEDULER_ROUND_SECONDS = env.float("SCHEDULER_ROUND_SECONDS", default=0.5)
# How often unused input files are looked for and deleted (INPUT_RETENTION_DAYS below).
INPUT_CLEAN_SECONDS = env.float("INPUT_CLEAN_SECONDS", default=3600)
# How often the matcher looks for offers that fit the standing requests (orders.standing), and how
# long a match it sent may stay unseen on chain before the request is matched anew.
STANDING_MATCH_SECONDS = env.float("STANDING_MATCH_SECONDS", default=5.0)
STANDING_MATCH_SETTLE_SECONDS = env.float("STANDING_MATCH_SETTLE_SECONDS", default=900.0)
# Deal pages re-read their deal this often besides notifications (which, without Redis, do not
# cross processes: the indexer's and the scheduler's changes arrive this way).
PROGRESS_POLL_SECONDS = env.float("PROGRESS_POLL_SECONDS", default=2.0)
# Notifications (marketplace.notifications): how often refunds newly claimable and chain facts
# newly confirmed are told and the email outbox is sent; how often an open bell re-reads its
# count besides being told (which, without Redis, does not cross processes); how old a fact may
# be and still be told (a first start over a long history, a re-indexing, tell nothing old).
NOTIFICATIONS_ROUND_SECONDS = env.float("NOTIFICATIONS_ROUND_SECONDS", default=5.0)
NOTIFICATIONS_POLL_SECONDS = env.float("NOTIFICATIONS_POLL_SECONDS", default=5.0)
NOTIFICATIONS_MAX_AGE_DAYS = env.float("NOTIFICATIONS_MAX_AGE_DAYS", default=7)
CELERY_BEAT_SCHEDULE = {
    "index-chain": {
        "task": "marketplace.indexer.tasks.index_chain",
        "schedule": env.float("INDEXER_BEAT_SECONDS", default=2.0),
        "options": {"expires": 10},
    },
    "schedule-pools": {
        "task": "pools.tasks.schedule_pools",
        "schedule": SCHEDULER_ROUND_SECONDS,
        "options": {"expires": 10},
    },
    "clean-inputs": {
        "task": "marketplace.orders.tasks.clean_inputs",
        "schedule": INPUT_CLEAN_SECONDS,
        "options": {"expires": 600},
    },
    "match-standing-requests": {
        "task": "marketplace.orders.tasks.match_standing_requests",
        "schedule": STANDING_MATCH_SECONDS,
        "options": {"expires": 10},
    },
    "notifications-round": {
        "task": "marketplace.notifications.tasks.notifications_round",
        "schedule": NOTIFICATIONS_ROUND_SECONDS,
        "options": {"expires": 10},
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# django-allauth: email sign-up; sign-in with the email or the username (the demo's curator,
# made by seed_demo, is `admin`). Mail goes to the console in development.
ACCOUNT_LOGIN_METHODS = {"email", "username"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="optional")
ACCOUNT_UNIQUE_EMAIL = True
# Failed sign-ins (admin and site login, marketplace.accounts.lockout): after this many within
# LOGIN_LOCKOUT_SECONDS, for one username or from one client address, signing in is locked for
# LOGIN_LOCKOUT_SECONDS. allauth's own login_failed limit is off: this one replaces it.
LOGIN_FAILURES_ALLOWED = env.int("LOGIN_FAILURES_ALLOWED", default=5)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=900)
ACCOUNT_ADAPTER = "marketplace.accounts.adapter.AccountAdapter"
ACCOUNT_RATE_LIMITS = {"login_failed": False}
LOGIN_REDIRECT_URL = "/"
LOGIN_URL = "account_login"
# Email: printed to the console unless EMAIL_URL names a server (django-environ's form:
# smtp+tls://user:password@smtp.example.com:587, consolemail://, filemail:////abs/folder); an
# EMAIL_BACKEND set alone (a dotted path) is used as it is.
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    globals().update(environ.Env.email_url_config(EMAIL_URL))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="SuperEdge <noreply@localhost>")
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)  # seconds a mail server has to answer
# The outbox of notifications' emails (marketplace.notifications.outbox): a failed send is tried
# again after EMAIL_RETRY_SECONDS, then twice as long at each attempt, EMAIL_MAX_ATTEMPTS in
# all; an email a stopped sender left sending is given up after EMAIL_SENDING_LEASE_SECONDS.
EMAIL_RETRY_SECONDS = env.float("EMAIL_RETRY_SECONDS", default=30)
EMAIL_MAX_ATTEMPTS = env.int("EMAIL_MAX_ATTEMPTS", default=6)
EMAIL_SENDING_LEASE_SECONDS = env.int("EMAIL_SENDING_LEASE_SECONDS", default=3600)
# The site's address as emails link to it (no request there to say it).
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
# The site speaks English only: without translation machinery, each number or date a page shows
# skips looking up the active language (a tenth of a listing page's rendering). Its formats are
# Django's defaults, which are English's, but for digit grouping (intcomma: 1,234).
USE_I18N = False
NUMBER_GROUPING = 3
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Uploads: larger files stream to disk instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
APP_WASM_MAX_BYTES = env.int("APP_WASM_MAX_BYTES", default=32 * 1024 * 1024)
DATASET_MAX_BYTES = env.int("DATASET_MAX_BYTES", default=256 * 1024 * 1024)
IMAGE_MAX_BYTES = env.int("IMAGE_MAX_BYTES", default=2 * 1024 * 1024)
# Input files of tasks (POST /api/v1/orders/inputs/): each at most INPUT_MAX_BYTES; one user
# stores at most INPUT_QUOTA_FILES files of INPUT_QUOTA_BYTES in all; a file no deal whose tasks
# may still run names is deleted INPUT_RETENTION_DAYS after its upload.
INPUT_MAX_BYTES = env.int("INPUT_MAX_BYTES", default=20 * 1024 * 1024)
INPUT_QUOTA_BYTES = env.int("INPUT_QUOTA_BYTES", default=200 * 1024 * 1024)
# What all the accounts of one network (client address) store in all: wallets cost nothing.
INPUT_QUOTA_BYTES_PER_IP = env.int("INPUT_QUOTA_BYTES_PER_IP", default=1024 * 1024 * 1024)
INPUT_QUOTA_FILES = env.int("INPUT_QUOTA_FILES", default=100)
INPUT_RETENTION_DAYS = env.float("INPUT_RETENTION_DAYS", default=7)
# A wallet whose free escrow lasts fewer days than this at its spending rate is warned
# (marketplace.orders.runway.runway_low).
RUNWAY_WARNING_DAYS = env.float("RUNWAY_WARNING_DAYS", default=3)
# Result archives a worker uploads: plain tars of at most this many files and folders, whose
# files add up to at most this many bytes (the agent's output limit).
RESULT_MAX_MEMBERS = env.int("RESULT_MAX_MEMBERS", default=10_000)
RESULT_MAX_UNPACKED_BYTES = env.int("RESULT_MAX_UNPACKED_BYTES", default=256 * 1024 * 1024)

# Sign-In with Ethereum (EIP-4361); it accepts the site's chain (SIWE_CHAIN_ID, below).
SIWE_DOMAIN = env.str("SIWE_DOMAIN", default="")  # empty: the request's host
SIWE_NONCE_TTL_SECONDS = env.int("SIWE_NONCE_TTL_SECONDS", default=300)
# Fuel per second of a category's reference time in the sandbox (worker.limits.FUEL_PER_SECOND
# by default); and how many failed runs of a task make its scheduler give it up.
SANDBOX_FUEL_PER_SECOND = env.int("SANDBOX_FUEL_PER_SECOND", default=10_000_000_000)
POOL_GIVE_UP_AFTER_FAILURES = env.int("POOL_GIVE_UP_AFTER_FAILURES", default=2)
WORKER_LEASE_SECONDS = env.int("WORKER_LEASE_SECONDS", default=60)  # a silent worker's time
# A member new to a pool (fewer than POOL_NEW_MEMBER_TASKS of its tasks completed) holds a
# replicate for a shorter lease; POOL_MEMBER_STRIKES failure reports contradicted by other
# workers' success cost a member its standing (no work, no dataset key) until its operator
# restores it.
WORKER_NEW_MEMBER_LEASE_SECONDS = env.int("WORKER_NEW_MEMBER_LEASE_SECONDS", default=30)
POOL_NEW_MEMBER_TASKS = env.int("POOL_NEW_MEMBER_TASKS", default=3)
POOL_MEMBER_STRIKES = env.int("POOL_MEMBER_STRIKES", default=2)
API_TOKEN_SECONDS = env.int("API_TOKEN_SECONDS", default=3600)  # lifetime of /api/v1/auth/ tokens

# Catalogue
CATALOGUE_PAGE_SIZE = 24
COMMENT_EDIT_WINDOW_SECONDS = env.int("COMMENT_EDIT_WINDOW_SECONDS", default=15 * 60)
# Comments and ratings posted, each per user and per client address ("5/min", "20/hour").
COMMENT_RATE = env.str("COMMENT_RATE", default="5/min")
RATING_RATE = env.str("RATING_RATE", default="10/min")

REST_FRAMEWORK = {
    # The schema documents the refusals every operation can answer, as the `Error` shape.
    "DEFAULT_SCHEMA_CLASS": "marketplace.api_schema.ApiAutoSchema",
    "DEFAULT_PAGINATION_CLASS": "marketplace.catalogue.pagination.ApiPagination",
    "PAGE_SIZE": 24,
    # JSON only, errors included (no browsable HTML pages): /api/docs/ documents the API.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Browsers use their session (with CSRF on writes); scripts a token got by signing a
    # challenge with their wallet (Authorization: Bearer <token>, /api/v1/auth/).
    # The token comes first: its WWW-Authenticate header makes unauthenticated calls 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "marketplace.accounts.authentication.WalletTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "EXCEPTION_HANDLER": "marketplace.api.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "marketplace.parsers.LimitedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Worker agents: a heartbeat every few seconds per replicate leaves plenty of room.
    "DEFAULT_THROTTLE_RATES": {"workers": env.str("WORKER_API_RATE", default="600/min")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SuperEdge API",
    "DESCRIPTION": (
        "The SuperEdge marketplace's JSON API: the catalogue of apps, datasets and worker "
        "pools; the order book (typed data to sign, publishing, quotes and matches, buyers' "
        "input files) and Hub escrow; deals and their tasks as they run; the worker API of "
        "pools, their members and replicates; and accounts, signed in with Ethereum for a "
        "session or a bearer token."
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"client_errors": {"()": "marketplace.logs.ClientErrorsWithoutTraceback"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["client_errors"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own console handler (DEBUG on) would print each of its lines a second time:
        # they reach the root's handler.
        "django": {"handlers": [], "level": "INFO"},
        "daphne": {"level": "WARNING"},
        "django.channels.server": {"level": "WARNING"},
    },
}

# The Content-Security-Policy of every response (marketplace.csp): scripts and styles come only
# from our own static files (no inline code, no eval), nothing is framed or embedded, forms post
# only here. The middleware adds the request's websocket origin (ws:/wss: of its host) to
# connect-src; a response with a policy of its own (result previews, input downloads) keeps it.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

# Chain ---------------------------------------------------------------------------------------
# The JSON-RPC node, its chain id and our Hub's address (marketplace.chain reads these). With
# nothing set: the local dev chain (`make chain`: anvil on 127.0.0.1:8545, chain id 31337),
# where the server's keys default to anvil's public dev accounts. Keys are never settings: they
# come from CHAIN_DEPLOYER_KEY, CHAIN_FAUCET_KEY and CHAIN_SCHEDULER_KEY (marketplace.chain.keys).
WEB3_RPC_URL = env.str("WEB3_RPC_URL", default="http://127.0.0.1:8545")
WEB3_PUBLIC_RPC_URL = env.str("WEB3_PUBLIC_RPC_URL", default="")  # for wallets; empty: WEB3_RPC_URL
CHAIN_ID = env.int("CHAIN_ID", default=31337)
SIWE_CHAIN_ID = CHAIN_ID
HUB_ADDRESS = env.str("HUB_ADDRESS", default="")  # empty: not deployed yet
# Blocks a transaction must be buried under before it counts: the indexer treats blocks above
# head - N as unconfirmed (shown as such, taken back if the chain reorganizes). 0 on the dev
# chain, which never reorganizes; 12 elsewhere unless set.
CHAIN_CONFIRMATIONS = env.int("CHAIN_CONFIRMATIONS", default=0 if CHAIN_ID == 31337 else 12)
# Seconds to wait for one JSON-RPC answer.
CHAIN_RPC_TIMEOUT = env.float("CHAIN_RPC_TIMEOUT", default=10.0)
# Seconds the indexer waits at the head before asking the node again.
INDEXER_POLL_SECONDS = env.float("INDEXER_POLL_SECONDS", default=0.5)
# Blocks of the indexer's first batch, and the events it aims at per batch (it adapts the range
# of blocks to that, and halves it when the node refuses a range).
INDEXER_FIRST_RANGE = env.int("INDEXER_FIRST_RANGE", default=50)
INDEXER_TARGET_EVENTS = env.int("INDEXER_TARGET_EVENTS", default=10_000)
# Who the indexer tells of each batch it writes, in this order (marketplace.indexer.followers):
# the price histories' levels, the pools' records, the catalogue (list pages, listings of new
# assets), the order book, the deal pages, the notifications (after the batch commits).
INDEXER_FOLLOWERS = [
    "marketplace.indexer.prices.PriceLevelFollower",  # the price histories' read model
    "pools.followers.PoolRecordFollower",  # before the catalogue's, which ranks pools by it
    "marketplace.catalogue.followers.CatalogueFollower",
    "marketplace.orders.followers.OrderBookFollower",
    "marketplace.deals.followers.DealPagesFollower",
    "marketplace.notifications.followers.NotificationsFollower",
    "marketplace.orders.followers.RunwayFollower",
]
# The index counts as lagging (pages warn) when it last reached the head this long ago.
INDEXER_LAG_SECONDS = env.float("INDEXER_LAG_SECONDS", default=60.0)
# Drips of the development chain's faucet, per user, per wallet and per client address.
FAUCET_RATE_PER_USER = env.str("FAUCET_RATE_PER_USER", default="1/min")
FAUCET_RATE_PER_WALLET = env.str("FAUCET_RATE_PER_WALLET", default="3/hour")
FAUCET_RATE_PER_IP = env.str("FAUCET_RATE_PER_IP", default="10/hour")
# End of Chain --------------------------------------------------------------------------------
