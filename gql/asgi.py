"""ASGI entry point for uvicorn (`gql.asgi:app`): settings from the environment."""

from gql.app import create_app
from gql.observability import configure_logging
from gql.settings import Settings

# Here rather than in the CLI: with `--workers N` each worker process imports this module.
configure_logging()
app = create_app(Settings.from_env())
