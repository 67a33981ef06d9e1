"""The Telegram adapter's settings: environment variables prefixed ``INDABA_TELEGRAM_``."""

from __future__ import annotations

import re

from pydantic import SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.adapter import BODY_LIMIT, SettingsError, describe_validation_error

_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


class TelegramSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="INDABA_TELEGRAM_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    bot_token: SecretStr = SecretStr("")
    # The Bot API server's root; requests go to {api_url}/bot{token}/{method}.
    api_url: str = "https://api.telegram.org"
    # When set, Telegram pushes updates to this URL (which must reach POST /telegram/webhook).
    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")
    # The largest webhook body accepted (Telegram's updates are a few KiB).
    body_limit: int = BODY_LIMIT

    @field_validator("api_url", "webhook_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> TelegramSettings:
        if self.webhook_url and not _SECRET.match(self.webhook_secret.get_secret_value()):
            raise ValueError(
                "INDABA_TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ - "
                "when INDABA_TELEGRAM_WEBHOOK_URL is set"
            )
        return self

    @property
    def token(self) -> str:
        return self.bot_token.get_secret_value()

    @property
    def secret(self) -> str:
        return self.webhook_secret.get_secret_value()


def load() -> TelegramSettings | None:
    """The settings when ``INDABA_TELEGRAM_BOT_TOKEN`` is set, None when it is not;
    :class:`SettingsError` with one line when a value is wrong."""
    try:
        settings = TelegramSettings()
    except ValidationError as error:
        for item in error.errors():
            if not item["loc"]:
                raise SettingsError(
                    "bad setting " + str(item["msg"]).removeprefix("Value error, ")
                ) from None
        raise SettingsError(describe_validation_error("INDABA_TELEGRAM_", error)) from None
    return settings if settings.token else None
