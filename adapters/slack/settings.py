"""The Slack adapter's settings: environment variables prefixed ``INDABA_SLACK_``."""

from __future__ import annotations

from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.adapter import SettingsError, describe_validation_error

PREFIX = "INDABA_SLACK_"


class SlackSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    bot_token: str = ""
    signing_secret: str = ""
    # An app-level token (xapp-…) switches to Socket Mode: no public URL needed.
    app_token: str = ""
    api_url: str = "https://slack.com/api/"

    @field_validator("bot_token")
    @classmethod
    def _bot_token(cls, value: str) -> str:
        if value and not value.startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("app_token")
    @classmethod
    def _app_token(cls, value: str) -> str:
        if value and not value.startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)


def load_slack_settings() -> SlackSettings | None:
    """The settings, or None when no bot token is set; one clear line when they are wrong."""
    try:
        settings = SlackSettings()
    except ValidationError as error:
        raise SettingsError(describe_validation_error(PREFIX, error)) from None
    if not settings.bot_token:
        return None
    if not settings.socket_mode and not settings.signing_secret:
        raise SettingsError(
            f"{PREFIX}SIGNING_SECRET is needed in HTTP mode "
            f"(or set {PREFIX}APP_TOKEN for Socket Mode)"
        )
    return settings
