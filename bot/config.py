"""Settings from the environment and `.env`: the only process-wide configuration.

Everything else receives what it needs from a `Settings` instance passed in.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def normalise_database_url(url: str) -> str:
    """Accept Heroku's `postgres://` and bare `postgresql://`; SQLAlchemy needs a driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def default_database_url() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'var' / 'briefbot.db'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(default_factory=default_database_url)
    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    log_level: str = "INFO"

    admin_chat_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    port: int = 8443

    data_dir: Path = PROJECT_ROOT / "data"
    templates_dir: Path = PROJECT_ROOT / "templates"

    # Chat: per-user flood control and argument bounds.
    flood_max_commands: int = 10
    flood_window_seconds: float = 30.0
    max_argument_chars: int = 200
    search_limit: int = 10
    search_time_cap_ms: int = 500

    # Digest.
    digest_max_items: int = 10
    digest_grace_hours: float = 24.0
    digest_send_rate: float = 25.0
    digest_per_chat_interval: float = 1.0
    digest_nothing_new_note: bool = False
    digest_channel_id: int | None = None
    digest_tick_seconds: int = 60

    # Live sources.
    allow_private_sources: bool = False
    fetch_timeout_seconds: float = 20.0
    fetch_max_bytes: int = 5 * 1024 * 1024
    source_poll_tick_seconds: int = 60

    @field_validator("database_url", mode="before")
    @classmethod
    def _normalise_url(cls, value: object) -> object:
        if isinstance(value, str):
            return (
                normalise_database_url(value.strip()) if value.strip() else default_database_url()
            )
        return value

    @field_validator("admin_chat_ids", mode="before")
    @classmethod
    def _parse_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(
                int(part) for part in value.replace(";", ",").split(",") if part.strip()
            )
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("telegram_bot_token", "webhook_secret", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @cached_property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
