"""ModelHub settings, read from the environment (and a `.env` file when present).

Every variable is documented in README.md's configuration table. The defaults give the embedded
shape: SQLite under DATA_DIR, the SQLite broker, the local compute backend.
"""

import secrets
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "var"))).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key_from_file(path: Path) -> str:
    """The embedded default keeps a generated key in DATA_DIR, outside the repository."""
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", default="") or _secret_key_from_file(DATA_DIR / "secret_key")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "apps.core",
    "apps.users",
    "apps.catalog",
    "apps.jobs",
    "apps.endpoints",
    "apps.clusters",
    "apps.chat",
    "apps.backends",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "apps.core.static_files.StaticFilesMiddleware",  # WhiteNoise, async-friendly under ASGI
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.users.language.UserLanguageMiddleware",  # a signed-in user's chosen language wins
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "apps.core.middleware.JsonApiErrorsMiddleware",
]

ROOT_URLCONF = "modelhub.urls"

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
                "apps.core.context_processors.navigation",
            ],
        },
    },
]

WSGI_APPLICATION = "modelhub.wsgi.application"
ASGI_APPLICATION = "modelhub.asgi.application"

# Database: SQLite file under DATA_DIR by default, MySQL 8 / MariaDB with mysql://user:pass@host:port/name.
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{DATA_DIR / 'modelhub.sqlite3'}"),
}
_db = DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server, worker and beat read while one of them writes.
    _db.setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # Tests share the database with real worker processes, so it must be a file, not memory.
    _db["TEST"] = {"NAME": str(DATA_DIR / "test-modelhub.sqlite3")}
elif _db["ENGINE"] == "django.db.backends.mysql":
    _db.setdefault("OPTIONS", {}).update({"charset": "utf8mb4"})
    _db["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
    _db.setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: per process on the embedded default; a shared Redis (redis://host:6379/1) when several web
# processes must agree (the chat rate limit counts there).
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://modelhub")}

AUTH_USER_MODEL = "users.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
# Pages in English and Simplified Chinese: the user's choice (user menu), else the browser's.
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(DATA_DIR / "staticfiles")))
# Hashed, compressed static files, written by `collectstatic` (make run, the image).
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = DATA_DIR / "media"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

# Secrets at rest: Fernet keys, newest first. Empty derives one key from SECRET_KEY.
ENCRYPTION_KEYS = env.list("ENCRYPTION_KEYS", default=[])

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.users.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.Pagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

SPECTACULAR_SETTINGS = {
    "TITLE": "ModelHub API",
    "DESCRIPTION": "Fine-tune open LLMs, deploy them and talk to them. "
    "Authenticate with `Authorization: Bearer <API token>` (create tokens on your profile page).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI is served from our own static files: no CDN needed.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Choice sets that share a field name across apps get names of their own.
    "ENUM_NAME_OVERRIDES": {
        "JobTypeEnum": "apps.core.job_types.JobType",
        "SecretKindEnum": "apps.users.models.UserSecret.Kind",
        "EventKindEnum": "apps.core.models.Event.Kind",
        "DatasetSourceEnum": "apps.catalog.models.Dataset.Source",
        "EndpointSourceEnum": "apps.endpoints.models.Source",
    },
}

# API tokens: last-use time is written at most this often per token, so reads stay cheap.
API_TOKEN_LAST_USED_RESOLUTION_SECONDS = env.int("API_TOKEN_LAST_USED_RESOLUTION_SECONDS", default=60)

# Celery: see celeryconfig.py (CELERY_BROKER_URL selects Redis; unset means the embedded SQLite broker).
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
EMBEDDED_BROKER_PATH = DATA_DIR / "broker.sqlite3"
WORKER_HEARTBEAT_SECONDS = env.int("WORKER_HEARTBEAT_SECONDS", default=10)
WORKER_STALE_SECONDS = env.int("WORKER_STALE_SECONDS", default=45)

# Compute and cloud. Nothing here is needed on the embedded default (the local target).
# The target of new jobs and deploys that name none (a key of TRAINING_BACKENDS); empty: the first
# usable target in TRAINING_BACKENDS order (SageMaker once AWS is configured), else the local one
# (apps/core/readiness.py default_target).
COMPUTE_BACKEND = env.str("COMPUTE_BACKEND", default="")
AWS_REGION = env.str("AWS_REGION", default="us-east-1")
SAGEMAKER_ROLE_ARN = env.str("SAGEMAKER_ROLE_ARN", default="")
S3_BUCKET = env.str("S3_BUCKET", default="")
S3_PREFIX = env.str("S3_PREFIX", default="modelhub")
# Backend implementations by target name (apps/backends/registry.py); tests swap in fakes here.
TRAINING_BACKENDS = {
    "sagemaker": "apps.backends.sagemaker.training.SageMakerTraining",
}
SERVING_BACKENDS = {
    "sagemaker": "apps.backends.sagemaker.serving.SageMakerServing",
    "hyperpod": "apps.backends.hyperpod.serving.HyperPodServing",
}
# What a training target adds to spec validation (apps/jobs/target_rules.py): target -> {"problems",
# "defaults", "help"} as dotted paths.
TRAINING_TARGET_RULES: dict[str, dict[str, str]] = {}
# --- Local target (apps/backends/local; docs/local.md) ---
# Trainer and model server run from their own environment (`make local-env`), never the web app's.
LOCAL_PYTHON = env.str("LOCAL_PYTHON", default=str(BASE_DIR / ".venv-local" / "bin" / "python"))
# Stop: SIGTERM to the run's process group, SIGKILL after this many seconds.
LOCAL_STOP_GRACE_SECONDS = env.float("LOCAL_STOP_GRACE_SECONDS", default=5.0)
# A local model server must answer its health check within this many seconds of starting.
LOCAL_SERVER_START_SECONDS = env.int("LOCAL_SERVER_START_SECONDS", default=300)
# How many times a local model server that died is started again before the endpoint fails.
LOCAL_SERVER_RESTARTS = env.int("LOCAL_SERVER_RESTARTS", default=2)
TRAINING_BACKENDS["local"] = "apps.backends.local.training.LocalTraining"
SERVING_BACKENDS["local"] = "apps.backends.local.serving.LocalServing"
TRAINING_TARGET_RULES["local"] = {"problems": "apps.jobs.renderers.trl.local_unsupported",
                                  "defaults": "apps.jobs.renderers.trl.local_defaults",
                                  "help": "apps.jobs.renderers.trl.LOCAL_HELP"}
# --- end local target ---
# --- Endpoints (apps/endpoints) ---
# How often the reconcile loop polls endpoints; after how long queued/deleting work whose message
# was lost is sent again; how many CloudWatch log lines a failed endpoint keeps in its events.
ENDPOINT_RECONCILE_SECONDS = env.int("ENDPOINT_RECONCILE_SECONDS", default=30)
ENDPOINT_STALE_SECONDS = env.int("ENDPOINT_STALE_SECONDS", default=300)
ENDPOINT_FAILURE_LOG_LINES = env.int("ENDPOINT_FAILURE_LOG_LINES", default=50)
# --- end endpoints ---
# Local storage for uploads, staged data and local-backend outputs.
STORAGE_DIR = Path(env.str("STORAGE_DIR", default=str(DATA_DIR / "storage"))).resolve()

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "apps.core.secrets.RedactingFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_secrets"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "botocore": {"level": "WARNING"},
        "urllib3": {"level": "WARNING"},
    },
}

# --- Training jobs (apps/jobs) ---------------------------------------------------------------------
# Container images for the two training tools (ECR URIs of the images built from docker/).
TRAINING_IMAGE_LLAMAFACTORY = env.str("TRAINING_IMAGE_LLAMAFACTORY", default="")
TRAINING_IMAGE_EASYR1 = env.str("TRAINING_IMAGE_EASYR1", default="")
# Remote training-job names start with this, so one list call with NameContains finds ours.
TRAINING_JOB_NAME_PREFIX = env.str("TRAINING_JOB_NAME_PREFIX", default="mhjob")
# Reconcile loop: how often it runs, and how long a job may sit in queued/submitting before re-dispatch.
TRAINING_RECONCILE_SECONDS = env.int("TRAINING_RECONCILE_SECONDS", default=30)
TRAINING_REDISPATCH_AFTER_SECONDS = env.int("TRAINING_REDISPATCH_AFTER_SECONDS", default=300)
# CloudWatch log group SageMaker writes training logs to.
TRAINING_LOG_GROUP = env.str("TRAINING_LOG_GROUP", default="/aws/sagemaker/TrainingJobs")

# --- Training job secrets (apps/backends/sagemaker/secrets.py) ---
# A job's tracker key / HF token live in one Secrets Manager secret named <prefix><remote job name>
# (never in the SageMaker Environment); the execution role needs secretsmanager:GetSecretValue on it.
TRAINING_SECRETS_PREFIX = env.str("TRAINING_SECRETS_PREFIX", default="modelhub/jobs/")
# KMS key for those secrets (key id, ARN or alias); empty: the AWS managed key aws/secretsmanager.
TRAINING_SECRETS_KMS_KEY_ID = env.str("TRAINING_SECRETS_KMS_KEY_ID", default="")

# Dashboard sections contributed by apps (see apps/core/dashboard.py), in page order.
DASHBOARD_SECTIONS: list[str] = []

# --- Serving configuration (apps/endpoints: spec, engines, images) ---
# Image per engine: empty uses the SageMaker DLC from sagemaker-core's table for the region and version;
# set a full URI (e.g. a byoc/ image in your ECR) to use it instead, whatever the version.
SERVING_IMAGE_VLLM = env.str("SERVING_IMAGE_VLLM", default="")
SERVING_IMAGE_SGLANG = env.str("SERVING_IMAGE_SGLANG", default="")
SERVING_IMAGE_LMI = env.str("SERVING_IMAGE_LMI", default="")
# Default engine versions when a deploy spec names none (must be known to sagemaker-core's image table).
SERVING_VERSION_VLLM = env.str("SERVING_VERSION_VLLM", default="0.30.0")
SERVING_VERSION_SGLANG = env.str("SERVING_VERSION_SGLANG", default="0.5.20")
SERVING_VERSION_LMI = env.str("SERVING_VERSION_LMI", default="0.36.0")
# Inference AMI for endpoint configs when the spec names none (CUDA 13 images need al2023 gpu-4-1).
SERVING_INFERENCE_AMI = env.str("SERVING_INFERENCE_AMI", default="al2023-ami-sagemaker-inference-gpu-4-1")
# --- end serving configuration ---

# Playground and OpenAI-compatible gateway (apps/chat). Rate limit: requests per user per window.
CHAT_RATE_LIMIT_REQUESTS = env.int("CHAT_RATE_LIMIT_REQUESTS", default=120)
CHAT_RATE_LIMIT_WINDOW_SECONDS = env.int("CHAT_RATE_LIMIT_WINDOW_SECONDS", default=60)
# Django cache alias holding the counters; point it at a shared cache (Redis) when running several web processes.
CHAT_RATE_LIMIT_CACHE = env.str("CHAT_RATE_LIMIT_CACHE", default="default")
# How long a gateway process remembers that a token may use an endpoint (0: check the database on every request).
CHAT_AUTH_CACHE_SECONDS = env.float("CHAT_AUTH_CACHE_SECONDS", default=5.0)
# Largest chat request body (gateway and playground), images included.
CHAT_MAX_REQUEST_BYTES = env.int("CHAT_MAX_REQUEST_BYTES", default=16 * 1024 * 1024)
CHAT_MAX_MESSAGES = env.int("CHAT_MAX_MESSAGES", default=512)
# Largest image attachment accepted by the playground (bytes, decoded).
CHAT_MAX_IMAGE_BYTES = env.int("CHAT_MAX_IMAGE_BYTES", default=5 * 1024 * 1024)
CHAT_UPSTREAM_CONNECT_TIMEOUT = env.float("CHAT_UPSTREAM_CONNECT_TIMEOUT", default=10.0)
# Longest silence allowed between two pieces of an upstream reply (and for a whole non-streaming reply's first byte).
CHAT_UPSTREAM_READ_TIMEOUT = env.float("CHAT_UPSTREAM_READ_TIMEOUT", default=120.0)
CHAT_UPSTREAM_MAX_CONNECTIONS = env.int("CHAT_UPSTREAM_MAX_CONNECTIONS", default=1000)
# How long an idle upstream connection is kept for reuse: below the 5 s after which uvicorn (vLLM, SGLang)
# closes idle connections, so that a request is never sent on one the server is closing.
CHAT_UPSTREAM_KEEPALIVE_SECONDS = env.float("CHAT_UPSTREAM_KEEPALIVE_SECONDS", default=4.0)
# Extra CA certificates (PEM file) trusted for HyperPod endpoints; empty uses the system store.
CHAT_UPSTREAM_CA_BUNDLE = env.str("CHAT_UPSTREAM_CA_BUNDLE", default="")
# SageMaker runtime base URL override (else AWS_ENDPOINT_URL, else the regional AWS endpoint).
SAGEMAKER_RUNTIME_ENDPOINT_URL = env.str("SAGEMAKER_RUNTIME_ENDPOINT_URL", default="") or env.str(
    "AWS_ENDPOINT_URL", default=""
)
# --- end chat ---

# --- catalog configuration (apps/catalog) ---
# Largest dataset upload accepted, in MB; bigger uploads are refused while streaming and leave nothing behind.
DATASET_MAX_UPLOAD_MB = env.int("DATASET_MAX_UPLOAD_MB", default=2048)
# Where uploaded dataset files are kept: "local" (STORAGE_DIR) or "s3" (S3_BUCKET/S3_PREFIX, for workers on other hosts).
DATASET_STORE = env.str("DATASET_STORE", default="local")
# A running validation renews its dataset's status time every tenth of this; a dataset still validating with
# no renewal for this long (its worker died, its message was lost) gets its validation sent again.
DATASET_VALIDATION_STALE_SECONDS = env.int("DATASET_VALIDATION_STALE_SECONDS", default=10 * 60)
# Image datasets (apps/catalog/archives.py, images.py): most entries in an uploaded archive, most bytes it may
# unpack to (declared sizes summed first, then counted while streaming), most pixels one image may declare.
DATASET_MAX_ARCHIVE_ENTRIES = env.int("DATASET_MAX_ARCHIVE_ENTRIES", default=10_000)
DATASET_MAX_UNPACKED_MB = env.int("DATASET_MAX_UNPACKED_MB", default=4096)
DATASET_MAX_IMAGE_PIXELS = env.int("DATASET_MAX_IMAGE_PIXELS", default=50_000_000)
DASHBOARD_SECTIONS.append("apps.catalog.dashboard.section")
# --- end catalog configuration ---

# Endpoints dashboard section (apps/endpoints/dashboard.py).
DASHBOARD_SECTIONS.append("apps.endpoints.dashboard.endpoints_section")
# Training jobs dashboard section (apps/jobs/dashboard.py).
DASHBOARD_SECTIONS.insert(0, "apps.jobs.dashboard.jobs_section")  # jobs lead the dashboard

# --- HyperPod (apps/clusters, apps/backends/hyperpod; docs/hyperpod.md) ---
# The callable the HyperPod backend asks for a cluster's connection (cluster id -> ClusterConnection).
HYPERPOD_CLUSTER_RESOLVER = env.str("HYPERPOD_CLUSTER_RESOLVER", default="apps.clusters.connection.resolve")
# Where the inference operator writes endpoints' TLS certificates (s3://bucket/prefix), for clusters that set none.
HYPERPOD_TLS_CERTIFICATE_S3_URI = env.str("HYPERPOD_TLS_CERTIFICATE_S3_URI", default="")
# Worker images replacing the built-in DLC table (apps/backends/hyperpod/images.py), e.g. a mirror in your ECR.
HYPERPOD_IMAGE_VLLM = env.str("HYPERPOD_IMAGE_VLLM", default="")
HYPERPOD_IMAGE_SGLANG = env.str("HYPERPOD_IMAGE_SGLANG", default="")
# Serving targets whose endpoints run on a registered cluster: their `target_options` are checked by this serializer.
CLUSTER_TARGETS = {"hyperpod": "apps.clusters.deploy_options.HyperPodOptionsSerializer"}
# Registered clusters are reached through these (apps.backends.base.ClusterBackend), by Cluster.KIND.
CLUSTER_BACKENDS = {"hyperpod": "apps.backends.hyperpod.cluster.HyperPodClusters"}
# How often the cluster reconcile loop looks at every registered cluster.
CLUSTER_RECONCILE_SECONDS = env.int("CLUSTER_RECONCILE_SECONDS", default=300)
# --- end HyperPod ---

# --- security and reliability (issue #15): input bounds, isolation, quotas, accounts ---
# Dataset readers (apps/catalog/readers.py): the most one row may take once decoded, and the most
# turned into Python values at once; rows over the first are row errors, never decoded.
DATASET_MAX_ROW_BYTES = env.int("DATASET_MAX_ROW_BYTES", default=16 * 1024 * 1024)
DATASET_MAX_BATCH_BYTES = env.int("DATASET_MAX_BATCH_BYTES", default=64 * 1024 * 1024)
# API request bodies (apps/core/parsers.py): JSON larger than this is refused with 413; the
# playground's chat API carries images, so it matches CHAT_MAX_REQUEST_BYTES.
API_MAX_JSON_BYTES = env.int("API_MAX_JSON_BYTES", default=CHAT_MAX_REQUEST_BYTES)
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = [
    "apps.core.parsers.BoundedJSONParser",
    "rest_framework.parsers.FormParser",
    "rest_framework.parsers.MultiPartParser",
]
# Per-user quotas (apps/core/quotas.py); 0 means no limit; admins have none.
QUOTA_CONCURRENT_JOBS = env.int("QUOTA_CONCURRENT_JOBS", default=4)
QUOTA_ENDPOINTS = env.int("QUOTA_ENDPOINTS", default=4)
QUOTA_INSTANCES = env.int("QUOTA_INSTANCES", default=16)
# HTTPS. SECURE_COOKIES=true says the site is served over HTTPS (behind a TLS proxy that sets
# X-Forwarded-Proto): then plain HTTP is redirected and browsers are told to stay on HTTPS (HSTS, one day by
# default; raise HSTS_SECONDS once HTTPS is known to work everywhere the host name is used).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=SESSION_COOKIE_SECURE)
SECURE_HSTS_SECONDS = env.int("HSTS_SECONDS", default=86400 if SESSION_COOKIE_SECURE else 0)
# Whether every subdomain is HTTPS too, and whether to ask for the browsers' preload list, are facts about
# the operator's domain, not about ModelHub: off unless set, and their deploy-check reminders silenced.
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("HSTS_PRELOAD", default=False)
SILENCED_SYSTEM_CHECKS = ["security.W005", "security.W021"]
if env.bool("BEHIND_TLS_PROXY", default=SESSION_COOKIE_SECURE):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Logins (apps/users/throttle.py): after LOGIN_MAX_FAILURES failed attempts for one username, or from one
# address, within LOGIN_LOCKOUT_SECONDS, further attempts are refused until the window passes; every
# failure is logged (username and address, never the password).
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=5)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=900)
AUTHENTICATION_BACKENDS = ["apps.users.throttle.ThrottledModelBackend"]
# Broker (celeryconfig.py): Redis redelivers a dead worker's message after BROKER_VISIBILITY_TIMEOUT; the
# embedded broker's taken messages are deleted after BROKER_PURGE_AFTER_SECONDS.
BROKER_VISIBILITY_TIMEOUT = env.int("BROKER_VISIBILITY_TIMEOUT", default=15 * 60)
BROKER_PURGE_AFTER_SECONDS = env.int("BROKER_PURGE_AFTER_SECONDS", default=15 * 60)
# --- end security and reliability ---
