"""The one settings object, read from the environment once at start-up."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict
from pydantic_settings.sources.utils import parse_env_vars
from tortoise.backends.base.config_generator import expand_db_url

if TYPE_CHECKING:
    from services.scanning.policy import ScanPolicy

DEFAULT_DATA_DIR = ".data"


class SettingsError(ValueError):
    """A setting in the environment has a value we cannot use."""


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


Seconds = Annotated[float, Field(gt=0)]


class _Environment(BaseSettings):
    """What the environment may set, parsed and checked by pydantic-settings: each field is
    `LIAISON_<FIELD>` unless an alias names it. No defaults here: an unset or empty variable
    leaves the `Settings` default, so every default is written once, in `Settings`."""

    model_config = SettingsConfigDict(env_prefix="LIAISON_", env_ignore_empty=True, extra="ignore")

    database_url: str | None = None
    redis_url: str | None = None
    clamd: str | None = None
    data_dir: Path | None = None
    jwt_secret: str | None = None
    allowed_origins: str | None = None  # comma-separated
    env: Literal["development", "production", "test"] | None = None
    max_attachment_bytes: int | None = None
    max_query_cost: int | None = None
    rate_limit_user_per_minute: int | None = None
    rate_limit_account_per_minute: int | None = None
    rate_limit_upload_bytes_per_minute: int | None = None
    scan_max_attempts: int | None = None
    bulk_lease_seconds: Seconds | None = None
    bulk_chunk_size: int | None = None
    subscriber_queue_size: int | None = None
    ws_compression: bool | None = None
    ws_max_message_bytes: int | None = None
    live_fast_path: bool | None = None
    metrics_token: str | None = None
    public_url: str | None = None
    executor: Literal["compiled", "graphql-core", "compare"] | None = None
    known_document_lane: Literal["on", "off", "compare"] | None = None
    persisted_queries: Path | None = None
    db_statement_timeout_seconds: Seconds | None = Field(
        None, validation_alias="LIAISON_DB_STATEMENT_TIMEOUT"
    )
    db_pool_timeout_seconds: Seconds | None = Field(
        None, validation_alias="LIAISON_DB_POOL_TIMEOUT"
    )
    blob_url: str | None = None
    scan_retry_base_seconds: Seconds | None = Field(
        None, validation_alias="LIAISON_SCAN_RETRY_BASE"
    )
    scan_retry_cap_seconds: Seconds | None = Field(None, validation_alias="LIAISON_SCAN_RETRY_CAP")
    scan_reclaim_idle_seconds: Seconds | None = Field(
        None, validation_alias="LIAISON_SCAN_RECLAIM_IDLE"
    )
    scan_sweep_interval_seconds: Seconds | None = Field(
        None, validation_alias="LIAISON_SCAN_SWEEP_INTERVAL"
    )
    scan_sweep_age_seconds: Seconds | None = Field(None, validation_alias="LIAISON_SCAN_SWEEP_AGE")
    blob_sweep_interval_seconds: Seconds | None = Field(
        None, validation_alias="LIAISON_BLOB_SWEEP_INTERVAL"
    )
    smtp_url: str | None = None
    mail_from: str | None = None
    notify_delay_seconds: int | None = None
    digest_hour_utc: Annotated[int, Field(ge=0, le=23)] | None = None
    app_url: str | None = None
    max_header_bytes: int | None = None
    header_timeout_seconds: Seconds | None = Field(None, validation_alias="LIAISON_HEADER_TIMEOUT")

    @classmethod
    def read(cls, env: Mapping[str, str]) -> dict[str, Any]:
        """The settings `env` sets, by `Settings` field name; SettingsError names the
        variable that is wrong."""
        source = _MappingSource(cls, env)
        try:
            values = cls.model_validate(source())
        except ValidationError as error:
            problems = []
            for problem in error.errors():
                name = str(problem["loc"][0]) if problem["loc"] else ""
                field = cls.model_fields.get(name)
                variable = name if name.startswith("LIAISON_") else f"LIAISON_{name.upper()}"
                if field is not None and isinstance(field.validation_alias, str):
                    variable = field.validation_alias
                problems.append(f"{variable}: {problem['msg']}, got {problem.get('input')!r}")
            raise SettingsError("; ".join(problems)) from None
        return values.model_dump(exclude_none=True)


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source over any mapping (os.environ by default)."""

    def __init__(self, settings_cls: type[BaseSettings], env: Mapping[str, str]) -> None:
        self._mapping = env
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        stripped = {name: value.strip() for name, value in self._mapping.items()}
        return parse_env_vars(
            stripped, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


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
        values = _Environment.read(os.environ if env is None else env)
        data_dir = values.setdefault("data_dir", Path(DEFAULT_DATA_DIR))
        values.setdefault("database_url", f"sqlite://{data_dir / 'liaison.db'}")
        if "allowed_origins" in values:
            origins = (part.strip() for part in values["allowed_origins"].split(","))
            values["allowed_origins"] = tuple(origin for origin in origins if origin)
        values["blob_url"] = _blob_url(values.get("blob_url"))
        values["smtp_url"] = _smtp_url(values.get("smtp_url"))
        if not values.get("jwt_secret"):
            if values.get("env") == "production":
                raise SettingsError("LIAISON_JWT_SECRET is required in production")
            values["jwt_secret"] = _dev_secret(data_dir)
        return cls(**values)


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
