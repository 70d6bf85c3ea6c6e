"""Settings from the environment (pydantic-settings): defaults written once, every variable
documented, a bad value refused with the variable's name."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from gql.settings import Settings, SettingsError, _Environment

DOCS = Path(__file__).resolve().parent.parent / "docs" / "operations.md"


def variables() -> list[str]:
    names = []
    for name, field in _Environment.model_fields.items():
        alias = field.validation_alias
        names.append(alias if isinstance(alias, str) else f"LIAISON_{name.upper()}")
    return names


def test_an_empty_environment_gives_the_dataclass_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env({"LIAISON_DATA_DIR": str(tmp_path), "LIAISON_ENV": "  "})
    for field in dataclasses.fields(Settings):
        if field.name in ("database_url", "data_dir", "jwt_secret"):
            continue
        assert getattr(settings, field.name) == field.default, field.name
    assert settings.database_url == f"sqlite://{tmp_path / 'liaison.db'}"
    assert settings.jwt_secret  # generated for development, kept in the data dir


def test_every_variable_reaches_its_field_and_is_documented(tmp_path: Path) -> None:
    documented = DOCS.read_text()
    assert [v for v in variables() if f"`{v}`" not in documented] == []
    env = {
        "LIAISON_DATA_DIR": str(tmp_path),
        "LIAISON_DB_STATEMENT_TIMEOUT": " 2.5 ",
        "LIAISON_HEADER_TIMEOUT": "3",
        "LIAISON_ALLOWED_ORIGINS": "https://a.example, https://b.example,",
        "LIAISON_WS_COMPRESSION": "on",
        "LIAISON_EXECUTOR": "compare",
        "LIAISON_DIGEST_HOUR_UTC": "0",
        "LIAISON_NOTIFY_DELAY_SECONDS": "60",
    }
    settings = Settings.from_env(env)
    assert settings.db_statement_timeout_seconds == 2.5
    assert settings.header_timeout_seconds == 3.0
    assert settings.allowed_origins == ("https://a.example", "https://b.example")
    assert settings.ws_compression is True and settings.executor == "compare"
    assert settings.digest_hour_utc == 0 and settings.notify_delay_seconds == 60


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LIAISON_DIGEST_HOUR_UTC", "24"),
        ("LIAISON_DB_POOL_TIMEOUT", "0"),
        ("LIAISON_SCAN_RETRY_CAP", "-1"),
        ("LIAISON_MAX_QUERY_COST", "lots"),
        ("LIAISON_LIVE_FAST_PATH", "maybe"),
        ("LIAISON_ENV", "prod"),
        ("LIAISON_KNOWN_DOCUMENT_LANE", "sometimes"),
        ("LIAISON_BLOB_URL", "ftp://store"),
        ("LIAISON_SMTP_URL", "smtp://host:notaport"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(
    variable: str, value: str, tmp_path: Path
) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({"LIAISON_DATA_DIR": str(tmp_path), variable: value})


def test_production_needs_a_secret(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="LIAISON_JWT_SECRET"):
        Settings.from_env({"LIAISON_DATA_DIR": str(tmp_path), "LIAISON_ENV": "production"})
