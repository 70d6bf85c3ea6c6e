"""The one settings object, read from the environment once at start-up."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tortoise.backends.base.config_generator import expand_db_url

if TYPE_CHECKING:
    from services.scanning.policy import ScanPolicy

DEFAULT_DATA_DIR = ".data"


class SettingsError(ValueError):
    """A setting in the environment has a value we cannot use."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


def _hour(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if not 0 <= value <= 23:
        raise SettingsError(f"{name} must be an hour from 0 to 23, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if value <= 0:
        raise SettingsError(f"{name} must be positive, got {raw!r}")
    return value


def _smtp_url(raw: str | None) -> str | None:
    if raw is None:
        return None
    parts = urlsplit(raw)
    try:
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise SettingsError("LIAISON_SMTP_URL has an invalid port") from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise SettingsError("LIAISON_SMTP_URL must look like smtp://user:pass@host:587")
    return raw


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(name, "")
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    raw = env.get(name, "").strip() or choices[0]
    if raw not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str | None = None
    clamd: str | None = None
    data_dir: Path = Path(DEFAULT_DATA_DIR)
    jwt_secret: str = field(default="", repr=False)
    allowed_origins: tuple[str, ...] = ()
    env: str = "development"
    max_attachment_bytes: int = 25 * 1024 * 1024
    max_attachments: int = 10
    max_page_size: int = 100
    max_query_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 2000
    max_query_cost: int = 50_000
    max_subscriptions_per_connection: int = 10
    subscriber_queue_size: int = 1000
    ws_keepalive_seconds: float = 15.0
    # permessage-deflate costs ~40 KB of zlib state per websocket and CPU per frame and per
    # subscriber; inbox frames are small. Off unless LIAISON_WS_COMPRESSION=true.
    ws_compression: bool = False
    # Largest websocket message once `connection_init` is accepted (before: 64 KiB, see
    # gql.wsserver). A subscribe message is a query of at most `max_tokens` tokens.
    ws_max_message_bytes: int = 1024 * 1024
    # The live fast path (gql.live): shared execution and frames sent from the hub's pump.
    live_fast_path: bool = True
    scan_max_attempts: int = 8
    bulk_lease_seconds: float = 10.0
    bulk_chunk_size: int = 250
    scan_timeout_seconds: float = 60.0
    rate_limit_user_per_minute: int = 120
    rate_limit_account_per_minute: int = 1200
    rate_limit_upload_bytes_per_minute: int = 500 * 1024 * 1024
    metrics_token: str | None = field(default=None, repr=False)
    public_url: str = "http://127.0.0.1:8000"
    # How operations execute (gql.execution): compiled plans, graphql-core only, or both
    # compared (the test suite's mode).
    executor: str = "compiled"
    # Queries already run answered without Strawberry's view and pipeline (gql.lane): on,
    # off, or compare (the lane without side effects, then the normal path, compared).
    known_document_lane: str = "on"
    # Apollo persisted query manifest: listed documents by hash; only those in production.
    persisted_queries: Path | None = None
    # A slow database answers SERVICE_UNAVAILABLE fast instead of queueing (services.pg_engine).
    db_statement_timeout_seconds: float = 15.0
    db_pool_timeout_seconds: float = 5.0
    # Where attachment bytes live: None is the file store under data_dir/blobs; or
    # file:///path, or s3://bucket?endpoint=…&region=… (services.s3_blobs).
    blob_url: str | None = None
    # Scan job timings (services.scanning.policy.ScanPolicy).
    scan_retry_base_seconds: float = 1.0
    scan_retry_cap_seconds: float = 60.0
    scan_reclaim_idle_seconds: float = 15.0
    scan_sweep_interval_seconds: float = 60.0
    scan_sweep_age_seconds: float = 120.0
    blob_sweep_interval_seconds: float = 3600.0
    # E-mail notifications (docs/notifications.md).
    smtp_url: str | None = field(default=None, repr=False)
    mail_from: str = "Liaison <notifications@localhost>"
    notify_delay_seconds: float = 300.0
    digest_hour_utc: int = 8
    app_url: str = ""
    # Request line and headers: size and time to arrive (gql.http_protocol).
    max_header_bytes: int = 16 * 1024
    header_timeout_seconds: float = 10.0

    @property
    def development(self) -> bool:
        return self.env == "development"

    @property
    def app_link_base(self) -> str:
        """Where e-mails link to: LIAISON_APP_URL, else the web app under the public URL."""
        return (self.app_url or f"{self.public_url}/app").rstrip("/")

    @property
    def max_request_bytes(self) -> int:
        """Largest HTTP body accepted: every attachment at its limit plus room for the form."""
        return self.max_attachments * self.max_attachment_bytes + 1024 * 1024

    @property
    def scan_policy(self) -> ScanPolicy:
        # Imported here: the services.scanning package loads the Redis queue, and settings
        # sit below everything that runs the server (tests/test_layers.py).
        from services.scanning.policy import ScanPolicy

        return ScanPolicy(
            retry_base=self.scan_retry_base_seconds,
            retry_cap=self.scan_retry_cap_seconds,
            visibility_timeout=self.scan_reclaim_idle_seconds,
            heartbeat=min(5.0, self.scan_reclaim_idle_seconds / 3),
            sweep_interval=self.scan_sweep_interval_seconds,
            sweep_age=self.scan_sweep_age_seconds,
            orphan_sweep_interval=self.blob_sweep_interval_seconds,
        )

    def tortoise_config(self) -> dict[str, Any]:
        return tortoise_config(
            self.database_url,
            statement_timeout=self.db_statement_timeout_seconds,
            pool_timeout=self.db_pool_timeout_seconds,
        )

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("LIAISON_DATA_DIR") or DEFAULT_DATA_DIR)
        database_url = env.get("LIAISON_DATABASE_URL") or f"sqlite://{data_dir / 'liaison.db'}"
        liaison_env = env.get("LIAISON_ENV", "development")
        if liaison_env not in ("development", "production", "test"):
            raise SettingsError("LIAISON_ENV must be development, production or test")
        secret = env.get("LIAISON_JWT_SECRET", "")
        if not secret:
            if liaison_env == "production":
                raise SettingsError("LIAISON_JWT_SECRET is required in production")
            secret = _dev_secret(data_dir)
        return cls(
            database_url=database_url,
            redis_url=env.get("LIAISON_REDIS_URL") or None,
            clamd=env.get("LIAISON_CLAMD") or None,
            data_dir=data_dir,
            jwt_secret=secret,
            allowed_origins=_list(env, "LIAISON_ALLOWED_ORIGINS"),
            env=liaison_env,
            max_attachment_bytes=_int(env, "LIAISON_MAX_ATTACHMENT_BYTES", 25 * 1024 * 1024),
            max_query_cost=_int(env, "LIAISON_MAX_QUERY_COST", 50_000),
            rate_limit_user_per_minute=_int(env, "LIAISON_RATE_LIMIT_USER_PER_MINUTE", 120),
            rate_limit_account_per_minute=_int(env, "LIAISON_RATE_LIMIT_ACCOUNT_PER_MINUTE", 1200),
            rate_limit_upload_bytes_per_minute=_int(
                env, "LIAISON_RATE_LIMIT_UPLOAD_BYTES_PER_MINUTE", 500 * 1024 * 1024
            ),
            scan_max_attempts=_int(env, "LIAISON_SCAN_MAX_ATTEMPTS", 8),
            bulk_lease_seconds=_float(env, "LIAISON_BULK_LEASE_SECONDS", 10.0),
            bulk_chunk_size=_int(env, "LIAISON_BULK_CHUNK_SIZE", 250),
            subscriber_queue_size=_int(env, "LIAISON_SUBSCRIBER_QUEUE_SIZE", 1000),
            ws_compression=_bool(env, "LIAISON_WS_COMPRESSION", False),
            ws_max_message_bytes=_int(env, "LIAISON_WS_MAX_MESSAGE_BYTES", 1024 * 1024),
            live_fast_path=_bool(env, "LIAISON_LIVE_FAST_PATH", True),
            metrics_token=env.get("LIAISON_METRICS_TOKEN") or None,
            public_url=env.get("LIAISON_PUBLIC_URL", "http://127.0.0.1:8000"),
            executor=_choice(env, "LIAISON_EXECUTOR", ("compiled", "graphql-core", "compare")),
            known_document_lane=_choice(
                env, "LIAISON_KNOWN_DOCUMENT_LANE", ("on", "off", "compare")
            ),
            persisted_queries=Path(env["LIAISON_PERSISTED_QUERIES"])
            if env.get("LIAISON_PERSISTED_QUERIES")
            else None,
            db_statement_timeout_seconds=_float(env, "LIAISON_DB_STATEMENT_TIMEOUT", 15.0),
            db_pool_timeout_seconds=_float(env, "LIAISON_DB_POOL_TIMEOUT", 5.0),
            blob_url=_blob_url(env.get("LIAISON_BLOB_URL") or None),
            scan_retry_base_seconds=_float(env, "LIAISON_SCAN_RETRY_BASE", 1.0),
            scan_retry_cap_seconds=_float(env, "LIAISON_SCAN_RETRY_CAP", 60.0),
            scan_reclaim_idle_seconds=_float(env, "LIAISON_SCAN_RECLAIM_IDLE", 15.0),
            scan_sweep_interval_seconds=_float(env, "LIAISON_SCAN_SWEEP_INTERVAL", 60.0),
            scan_sweep_age_seconds=_float(env, "LIAISON_SCAN_SWEEP_AGE", 120.0),
            blob_sweep_interval_seconds=_float(env, "LIAISON_BLOB_SWEEP_INTERVAL", 3600.0),
            smtp_url=_smtp_url(env.get("LIAISON_SMTP_URL") or None),
            mail_from=env.get("LIAISON_MAIL_FROM") or "Liaison <notifications@localhost>",
            notify_delay_seconds=_int(env, "LIAISON_NOTIFY_DELAY_SECONDS", 300),
            digest_hour_utc=_hour(env, "LIAISON_DIGEST_HOUR_UTC", 8),
            app_url=env.get("LIAISON_APP_URL", ""),
            max_header_bytes=_int(env, "LIAISON_MAX_HEADER_BYTES", 16 * 1024),
            header_timeout_seconds=_float(env, "LIAISON_HEADER_TIMEOUT", 10.0),
        )


def _blob_url(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not raw.startswith(("file://", "s3://")):
        raise SettingsError(f"LIAISON_BLOB_URL must be file://… or s3://…, got {raw!r}")
    if raw.startswith("s3://"):
        from services.s3_blobs import parse_s3_url

        try:
            parse_s3_url(raw)
        except ValueError as error:
            raise SettingsError(f"LIAISON_BLOB_URL: {error}") from None
    return raw


def _dev_secret(data_dir: Path) -> str:
    """A development secret kept beside the SQLite file, so tokens survive restarts."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "dev-jwt-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def tortoise_config(
    database_url: str, *, statement_timeout: float = 15.0, pool_timeout: float = 5.0
) -> dict[str, Any]:
    connection: str | dict[str, Any] = database_url
    if database_url.startswith("sqlite://"):
        Path(database_url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)
    elif database_url.startswith(("postgres://", "postgresql://", "asyncpg://")):
        connection = expand_db_url(database_url)
        credentials = connection["credentials"]
        credentials["server_settings"] = {
            **credentials.get("server_settings", {}),
            "statement_timeout": str(int(statement_timeout * 1000)),
        }
        credentials["pool_acquire_timeout"] = pool_timeout
        credentials.setdefault("timeout", min(pool_timeout, 10.0))  # asyncpg connect timeout
        connection["engine"] = "services.pg_engine"
    return {
        "connections": {"default": connection},
        "apps": {
            "liaison": {
                "models": ["models"],
                "migrations": "models.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }
