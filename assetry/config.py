"""One Settings object for every environment variable, and the mode of each subsystem.

Every subsystem has an embedded default that needs no keys (a Postgres server run from
DATA_DIR, local accounts, outbox email, local media folder) and a configured mode that talks to
the real service. The mode is derived here, in one place, from the settings.
"""

from __future__ import annotations

import base64
import enum
import functools
import secrets
from pathlib import Path
from urllib.parse import urlparse

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from assetry.local_postgres import LocalPostgres

ROOT = Path(__file__).resolve().parent.parent
LOCAL_APP_DB_PASSWORD = "assetry-local-only"


class Mode(enum.StrEnum):
    """Whether a subsystem runs on its embedded default or on a configured service."""

    EMBEDDED = "embedded"
    CONFIGURED = "configured"


class Deployment(enum.StrEnum):
    """One machine (embedded defaults allowed), or several web and worker instances sharing services."""

    SINGLE = "single"
    MULTI = "multi"


class DeploymentRefused(RuntimeError):
    """DEPLOYMENT=multi with a setting missing that every instance must share; the message names it."""


class Settings(BaseSettings):
    """Configuration read from the environment (and an optional `.env` file)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # The address users reach the app at; https turns on HSTS and secure cookies.
    public_url: str = "http://localhost:3000"
    data_dir: Path = ROOT / "data"
    # `multi`: several web backends and workers on several machines. Keys, the database, Redis and
    # object storage must then come from settings (nothing per machine); start-up refuses otherwise.
    deployment: Deployment = Deployment.SINGLE

    # Database: the embedded Postgres with its data in DATA_DIR unless DATABASE_URL points at a server.
    database_url: str | None = None
    # Postgres role the running app logs in as (never a superuser); created by migrations.
    app_db_role: str = "assetry_app"
    app_db_password: SecretStr = SecretStr(LOCAL_APP_DB_PASSWORD)

    # Auth: local accounts unless Supabase is configured.
    supabase_url: str | None = None
    supabase_anon_key: SecretStr | None = None
    supabase_service_role_key: SecretStr | None = None

    # Password hashing (argon2id, parallelism 4): argon2-cffi's recommended cost. Only the test
    # suite lowers it (its hashes are thrown away); production keeps these.
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=32)

    # Sessions and login throttling: wrong passwords one IP may try on one account, and on all
    # accounts, before each further try waits (1 minute, doubling, at most the window).
    session_days: int = Field(default=14, ge=1)
    login_max_failures: int = Field(default=5, ge=1)
    login_ip_max_failures: int = Field(default=20, ge=1)
    login_window_minutes: int = Field(default=15, ge=1)
    # Sign-up, waitlist and link-resend forms one IP may send per hour (each form counted apart).
    form_ip_max_per_hour: int = Field(default=10, ge=1)

    # Token encryption keys, newest first: "kid:<32 bytes, urlsafe base64>,kid2:...".
    encryption_keys: SecretStr | None = None
    # Signs media URLs; the embedded default keeps a random one in DATA_DIR/secret.key.
    secret_key: SecretStr | None = None
    media_url_ttl_seconds: int = Field(default=3600, ge=60)

    # Media storage: a private folder under DATA_DIR unless an S3-compatible bucket is configured
    # (Supabase Storage: endpoint https://<project>.supabase.co/storage/v1/s3 and its S3 access keys).
    media_s3_endpoint: str | None = None
    media_s3_bucket: str = "assetry-media"
    media_s3_access_key: str | None = None
    media_s3_secret_key: SecretStr | None = None
    media_s3_region: str = "us-east-1"
    # The bucket's address as browsers reach it, when not MEDIA_S3_ENDPOINT (presigned links name it).
    media_s3_public_endpoint: str | None = None

    # Prompt studio: limits per user, and the price table (USD per unit, by model id).
    daily_generation_quota: int = Field(default=50, ge=0)
    max_concurrent_generations: int = Field(default=3, ge=1)
    prompt_max_chars: int = Field(default=2000, ge=1)
    max_media_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    price_table: dict[str, float] = Field(default_factory=dict)
    # Jobs each worker (embedded or `python -m assetry worker`) runs at once.
    job_concurrency: int = Field(default=4, ge=1)
    # Slots a worker serving the interactive queue keeps for it alone, besides JOB_CONCURRENCY:
    # syncs holding every other slot for minutes never make a generation or an export wait.
    job_interactive_slots: int = Field(default=1, ge=0)
    # Run the job worker inside the web process (one command runs everything); off to scale out.
    job_worker_in_app: bool = True
    # A worker silent this long is dead (a kill -9, a lost machine): its running jobs run again on
    # another. Workers send a heartbeat three times as often; the sweep for their jobs runs each
    # minute, or this often when shorter.
    job_stalled_after_seconds: float = Field(default=30.0, ge=3)
    # Tests and benchmarks: count the statements this process sends for pages and requests (not
    # for jobs) and report them at /health/statements, to prove an idle tab queries nothing.
    count_statements: bool = False
    # Days between a deletion request and the purge of the account's data (0: at once). The
    # policy promises deletion within 30 days, so more is refused at start-up.
    deletion_grace_days: int = Field(default=30, ge=0, le=30)

    # TikTok Login Kit / Display API: sandbox (the mounted imitation) unless key and secret are set.
    tiktok_client_key: str | None = None
    tiktok_client_secret: SecretStr | None = None
    tiktok_authorize_base: str = "https://www.tiktok.com"
    tiktok_api_base: str = "https://open.tiktokapis.com"

    # Instagram (API with Instagram Login): sandbox imitation unless an app id and secret are set.
    instagram_client_id: str | None = None
    instagram_client_secret: SecretStr | None = None
    instagram_authorize_url: str = "https://www.instagram.com/oauth/authorize"
    instagram_api_url: str = "https://api.instagram.com"
    instagram_graph_url: str = "https://graph.instagram.com"
    instagram_api_version: str = "v26.0"

    # Reflex's state manager across several backend workers.
    redis_url: str | None = None
    # The largest event a browser may send over the websocket (bytes); larger ones are refused
    # with a message. At most Engine.IO's own frame limit (1 MB), above which it drops the socket.
    event_max_bytes: int = Field(default=256 * 1024, ge=4096, le=1_000_000)

    # Email: kept in the outbox table (admins read it) unless SMTP_URL is set:
    # smtp://user:pass@host:587?starttls=1, or smtps://user:pass@host:465 for implicit TLS.
    smtp_url: SecretStr | None = None
    mail_from: str = "Assetry <no-reply@localhost>"
    smtp_timeout_s: float = Field(default=30.0, gt=0)

    # fal.ai (images and videos): off unless FAL_KEY is set. Model ids are fal endpoint ids.
    fal_key: SecretStr | None = None
    fal_queue_url: str = "https://queue.fal.run"
    fal_image_model: str = "fal-ai/flux/schnell"
    fal_video_model: str = "fal-ai/veo3/fast"
    # What each model accepts and costs is in the provider catalog (assetry/services/catalog.py).
    fal_timeout_s: float = Field(default=30.0, gt=0)

    # Public-post tracking through Apify: the sandbox imitation unless APIFY_TOKEN is set.
    apify_token: SecretStr | None = None
    apify_api_url: str = "https://api.apify.com"
    apify_tiktok_actor: str = "clockworks/tiktok-scraper"
    apify_instagram_actor: str = "apify/instagram-scraper"
    apify_run_timeout_seconds: int = Field(default=300, ge=10)

    # Gemini (captions, images) and Anthropic (captions): a provider with no key is not configured.
    # Model ids change often: these are defaults; the provider catalog says which ids are current.
    gemini_api_key: SecretStr | None = None
    gemini_base_url: str = "https://generativelanguage.googleapis.com"
    gemini_caption_model: str = "gemini-3.5-flash-lite"
    gemini_image_model: str = "gemini-nano-banana-2.1"
    gemini_timeout_s: float = Field(default=120, gt=0)
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str = "https://api.anthropic.com"
    anthropic_caption_model: str = "claude-haiku-4-5"
    anthropic_timeout_s: float = Field(default=60, gt=0)
    # Extra attempts the provider SDKs make on 429/5xx/timeouts before we report the error.
    llm_max_retries: int = Field(default=2, ge=0)

    # Live smoke tests (`make smoke`): also make a video (costs money), and what to read `me` and a post with.
    smoke_video: bool = False
    smoke_tiktok_token: SecretStr | None = None
    smoke_instagram_token: SecretStr | None = None
    smoke_apify_url: str | None = None

    @field_validator(
        "database_url",
        "supabase_url",
        "redis_url",
        "smtp_url",
        "media_s3_endpoint",
        "media_s3_public_endpoint",
        "fal_key",
        "gemini_api_key",
        "anthropic_api_key",
        "instagram_client_id",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: str | None) -> str | None:
        return value or None

    # ----- derived --------------------------------------------------------
    @property
    def https(self) -> bool:
        """Whether users reach the app over https (turns on HSTS, secure cookies)."""
        return urlparse(self.public_url).scheme == "https"

    @property
    def origin(self) -> str:
        """The app's own origin, the only one allowed for CORS."""
        parsed = urlparse(self.public_url)
        return f"{parsed.scheme}://{parsed.netloc}"

    def local_postgres(self) -> LocalPostgres | None:
        """The embedded server, unless DATABASE_URL names another one."""
        return None if self.database_url else LocalPostgres(self.data_dir)

    @property
    def owner_database_url(self) -> str:
        """The database URL migrations run with (the schema owner)."""
        return self.database_url or LocalPostgres(self.data_dir).url()

    @functools.cached_property
    def app_database_url(self) -> str:
        """The async URL the running app uses: its own non-superuser role (asked for by every transaction)."""
        url = make_url(driver_url(self.owner_database_url))
        url = url.set(username=self.app_db_role, password=self.app_db_password.get_secret_value())
        return url.render_as_string(hide_password=False)

    @property
    def database_mode(self) -> Mode:
        return Mode.CONFIGURED if self.database_url else Mode.EMBEDDED

    @property
    def auth_mode(self) -> Mode:
        return Mode.CONFIGURED if self.supabase_url and self.supabase_anon_key else Mode.EMBEDDED

    @property
    def tiktok_mode(self) -> Mode:
        """Configured with a real TikTok app's key and secret; else the sandbox imitation."""
        secret = self.tiktok_client_secret.get_secret_value() if self.tiktok_client_secret else ""
        return Mode.CONFIGURED if self.tiktok_client_key and secret else Mode.EMBEDDED

    @property
    def media_mode(self) -> Mode:
        return Mode.CONFIGURED if self.media_s3_endpoint and self.media_s3_access_key else Mode.EMBEDDED

    @property
    def storage_link_origin(self) -> str | None:
        """The origin of presigned bucket links browsers are sent to; None with local storage."""
        if self.media_mode is Mode.EMBEDDED:
            return None
        parsed = urlparse(self.media_s3_public_endpoint or self.media_s3_endpoint)
        return f"{parsed.scheme}://{parsed.netloc}"

    @property
    def state_mode(self) -> Mode:
        return Mode.CONFIGURED if self.redis_url else Mode.EMBEDDED

    @property
    def mail_mode(self) -> Mode:
        """SMTP when SMTP_URL is set; else messages stay in the outbox table."""
        return Mode.CONFIGURED if self.smtp_url and self.smtp_url.get_secret_value() else Mode.EMBEDDED

    @property
    def instagram_mode(self) -> Mode:
        """Configured with a real Instagram app's id and secret; otherwise the sandbox imitation."""
        return Mode.CONFIGURED if self.instagram_client_id and self.instagram_client_secret else Mode.EMBEDDED

    @property
    def apify_mode(self) -> Mode:
        """Apify with a real token, else the sandbox imitation (no blank token counts as set)."""
        return Mode.CONFIGURED if self.apify_token and self.apify_token.get_secret_value() else Mode.EMBEDDED

    def missing_for_multi_instance(self) -> list[str]:
        """What DEPLOYMENT=multi needs and is not set: every instance must share it (empty: all set)."""
        missing = []
        if not self.encryption_keys or not self.encryption_keys.get_secret_value():
            missing.append("ENCRYPTION_KEYS (the same token-encryption keys on every instance)")
        else:
            try:
                self.encryption_keyring()
            except ValueError as malformed:
                missing.append(f"ENCRYPTION_KEYS in the right shape ({malformed})")
        if not self.secret_key or not self.secret_key.get_secret_value():
            missing.append("SECRET_KEY (signs media and download links; the same on every instance)")
        if not self.database_url:
            missing.append(
                "DATABASE_URL (a Postgres server every instance reaches; the embedded one is for one machine)"
            )
        if self.app_db_password.get_secret_value() == LOCAL_APP_DB_PASSWORD:
            missing.append("APP_DB_PASSWORD (the app role's password; the built-in one is for one machine)")
        if not self.redis_url:
            missing.append("REDIS_URL (UI state shared by the web backends)")
        storage = {
            "MEDIA_S3_ENDPOINT": self.media_s3_endpoint,
            "MEDIA_S3_ACCESS_KEY": self.media_s3_access_key,
            "MEDIA_S3_SECRET_KEY": self.media_s3_secret_key and self.media_s3_secret_key.get_secret_value(),
        }
        if unset := [name for name, value in storage.items() if not value]:
            missing.append(f"{', '.join(unset)} (object storage for media and exports)")
        return missing

    def refuse_unsafe_deployment(self) -> None:
        """Raise DeploymentRefused, naming what is missing, when DEPLOYMENT=multi is not fully set up."""
        if self.deployment is Deployment.MULTI and (missing := self.missing_for_multi_instance()):
            raise DeploymentRefused(
                "DEPLOYMENT=multi needs settings that every instance shares, and these are missing:\n"
                + "".join(f"  - {item}\n" for item in missing)
                + 'Set them (README: "Running in production"), or unset DEPLOYMENT to run on one machine.'
            )

    def encryption_keyring(self) -> list[tuple[str, bytes]]:
        """The token-encryption keys as (key id, key), newest first."""
        if not self.encryption_keys or not self.encryption_keys.get_secret_value():
            if self.deployment is Deployment.MULTI:
                raise DeploymentRefused("DEPLOYMENT=multi needs ENCRYPTION_KEYS: no key is made per machine.")
            return [("local", _local_secret(self.data_dir / "encryption.key", 32))]
        ring = []
        for entry in self.encryption_keys.get_secret_value().split(","):
            kid, _, b64 = entry.strip().partition(":")
            key = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
            if not kid or len(key) != 32:
                raise ValueError("ENCRYPTION_KEYS entries must be 'kid:<32 bytes, urlsafe base64>'")
            ring.append((kid, key))
        return ring

    def modes(self) -> dict[str, Mode]:
        """Every subsystem's mode, for `doctor` and the privacy page."""

        def keyed(secret: SecretStr | None) -> Mode:
            return Mode.CONFIGURED if secret and secret.get_secret_value() else Mode.EMBEDDED

        return {
            "database": self.database_mode,
            "auth": self.auth_mode,
            "media storage": self.media_mode,
            "ui state": self.state_mode,
            "mail": self.mail_mode,
            "fal.ai": keyed(self.fal_key),
            "gemini": keyed(self.gemini_api_key),
            "anthropic": keyed(self.anthropic_api_key),
            "tiktok": self.tiktok_mode,
            "instagram": self.instagram_mode,
            "apify": self.apify_mode,
        }

    def provider_hosts(self) -> dict[str, str]:
        """The base URL each external provider is reached at when configured (doctor probes them)."""
        return {
            "fal.ai": self.fal_queue_url,
            "gemini": self.gemini_base_url,
            "anthropic": self.anthropic_base_url,
            "tiktok": self.tiktok_api_base,
            "instagram": self.instagram_graph_url,
            "apify": self.apify_api_url,
        }


def signing_secret(settings: Settings) -> bytes:
    """The key media URLs are signed with (generated once per installation when not set)."""
    if settings.secret_key and settings.secret_key.get_secret_value():
        return settings.secret_key.get_secret_value().encode()
    if settings.deployment is Deployment.MULTI:
        raise DeploymentRefused("DEPLOYMENT=multi needs SECRET_KEY: no key is made per machine.")
    return _local_secret(settings.data_dir / "secret.key", 48)


# The local secrets read so far, by file, with the file's identity when read: every signed
# media link asks (48 a library page), and a file opened, read and decoded each time was a
# third of a page's server time. A file made anew (another inode or time) is read again.
_read_secrets: dict[Path, tuple[tuple[int, int], bytes]] = {}


def _local_secret(path: Path, size: int) -> bytes:
    """A random secret kept in a file of its own (created once; two workers agree on it)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("x") as handle:
                handle.write(base64.urlsafe_b64encode(secrets.token_bytes(size)).decode())
            path.chmod(0o600)
        except FileExistsError:
            pass
        stat = path.stat()
    identity = (stat.st_ino, stat.st_mtime_ns)
    known = _read_secrets.get(path)
    if known is not None and known[0] == identity:
        return known[1]
    text = path.read_text().strip()
    secret = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    _read_secrets[path] = (identity, secret)
    return secret


def driver_url(url: str) -> str:
    """Name the driver SQLAlchemy should use: psycopg 3 (sync and async alike)."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@functools.cache
def get_settings() -> Settings:
    """The process-wide settings (read once; tests build their own)."""
    return Settings()
