"""ASGI entry point for uvicorn (`gql.asgi:app`): settings from the environment."""

from gql import http_protocol
from gql.app import create_app
from gql.observability import configure_logging
from gql.settings import Settings

# Here rather than in the CLI: with `--workers N` each worker process imports this module.
configure_logging()
settings = Settings.from_env()
http_protocol.configure(
    http_protocol.HeaderLimits(settings.max_header_bytes, settings.header_timeout_seconds)
)
app = create_app(settings)
