"""Indaba's core settings: environment variables prefixed ``INDABA_``, ``.env`` honoured."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_path
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from bot.adapter import SettingsError, describe_validation_error

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def default_data_dir() -> Path:
    """Where Indaba keeps its database and files unless INDABA_DATA_DIR says otherwise:
    the user's data directory (``~/.local/share/indaba`` on Linux), the same from any
    current directory, so ``indaba run`` and every other command find one database."""
    return user_data_path("indaba")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="INDABA_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str = ""
    log_level: str = "INFO"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    # The console alone needs no HTTP server; this (or ``indaba run --http``) starts one.
    console_http: bool = False
    prompts_dir: Path = PROJECT_ROOT / "prompts"
    # Delivery loop: how many messages are in flight at once, per adapter.
    delivery_concurrency: int = Field(default=16, ge=1, le=256)
    delivery_max_attempts: int = Field(default=8, ge=1, le=100)
    delivery_lease_seconds: int = Field(default=60, ge=5)
    # Inbox workers: how many inbound events are handled at once (one per conversation).
    inbox_concurrency: int = Field(default=8, ge=1, le=256)
    inbox_max_attempts: int = Field(default=6, ge=1, le=100)
    # ``indaba run --handlers N``: how much lower the handling processes' CPU priority
    # is (a nice value added), so that acknowledging webhooks comes first (0: the same).
    handler_niceness: int = Field(default=10, ge=0, le=19)
    # Database connections per process (PostgreSQL; SQLite has one writer anyway).
    database_pool_size: int = Field(default=20, ge=1, le=500)
    # Replicas count each token's rate limits together here (unset: each process alone).
    redis_url: str = ""
    join_code_days: int = Field(default=30, ge=1)
    setup_code_days: int = Field(default=7, ge=1)
    # The meeting pack's pages: the key signing their links (generated into the data
    # directory when unset), the address members open them at, and how long links last.
    web_secret: SecretStr | None = None
    web_base_url: str = ""
    web_link_days: int = Field(default=30, ge=1, le=3650)

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        upper = value.upper()
        if upper not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return upper

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must start with sqlite+aiosqlite:// or postgresql+asyncpg:// "
                f"(got {value.split('://', 1)[0]}://)"
            )
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("web_base_url")
    @classmethod
    def _web_base_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def effective_web_base_url(self) -> str:
        if self.web_base_url:
            return self.web_base_url
        host = "127.0.0.1" if self.http_host in ("0.0.0.0", "::", "") else self.http_host
        return f"http://{host}:{self.http_port}"

    @property
    def database_location(self) -> str:
        """The database as an operator would name it: the file for SQLite, else the URL
        without its password."""
        url = make_url(self.effective_database_url)
        if url.get_backend_name() == "sqlite":
            return str(url.database or ":memory:")
        return url.render_as_string(hide_password=True)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'indaba.db'}"


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        raise SettingsError(describe_validation_error("INDABA_", error)) from None


__all__ = [
    "PROJECT_ROOT",
    "Settings",
    "SettingsError",
    "default_data_dir",
    "describe_validation_error",
    "load_settings",
]
