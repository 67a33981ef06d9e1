"""The Slack adapter's settings: environment variables prefixed ``INDABA_SLACK_``."""

from __future__ import annotations

import re

from pydantic import SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.adapter import BODY_LIMIT, SettingsError, describe_validation_error

PREFIX = "INDABA_SLACK_"
# Slack's own rule for command names: lower case letters, digits, - and _ after the slash.
_COMMAND_NAME = re.compile(r"^[a-z0-9_-]{1,31}$")


class SlackSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    bot_token: SecretStr = SecretStr("")
    signing_secret: SecretStr = SecretStr("")
    # An app-level token (xapp-…) switches to Socket Mode: no public URL needed.
    app_token: SecretStr = SecretStr("")
    api_url: str = "https://slack.com/api/"
    # The one slash command the manifest declares (``/indaba agenda add …``).
    command: str = "indaba"
    max_body_bytes: int = BODY_LIMIT

    @field_validator("bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if secret and not secret.startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("app_token")
    @classmethod
    def _app_token(cls, value: SecretStr) -> SecretStr:
        secret = value.get_secret_value()
        if secret and not secret.startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("command")
    @classmethod
    def _command(cls, value: str) -> str:
        name = value.strip().lstrip("/").lower()
        if not _COMMAND_NAME.match(name):
            raise ValueError("must be a slash command name such as indaba")
        return name

    @field_validator("max_body_bytes")
    @classmethod
    def _max_body_bytes(cls, value: int) -> int:
        if value < 1024:
            raise ValueError("must be at least 1024")
        return value

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token.get_secret_value())


def load() -> SlackSettings | None:
    """The settings, or None when no bot token is set; one clear line when they are wrong."""
    try:
        settings = SlackSettings()
    except ValidationError as error:
        raise SettingsError(describe_validation_error(PREFIX, error)) from None
    if not settings.bot_token.get_secret_value():
        return None
    if not settings.socket_mode and not settings.signing_secret.get_secret_value():
        raise SettingsError(
            f"{PREFIX}SIGNING_SECRET is needed in HTTP mode "
            f"(or set {PREFIX}APP_TOKEN for Socket Mode)"
        )
    return settings
