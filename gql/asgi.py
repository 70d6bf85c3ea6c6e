"""ASGI entry point for uvicorn (`gql.asgi:app`): settings from the environment."""

from gql.app import create_app
from gql.settings import Settings

app = create_app(Settings.from_env())
