"""The WhatsApp adapter's settings: environment variables prefixed ``INDABA_WHATSAPP_``."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.adapter import BODY_LIMIT, SettingsError, describe_validation_error

PREFIX = "INDABA_WHATSAPP_"


class WhatsAppSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    access_token: SecretStr = SecretStr("")
    phone_number_id: str = ""
    app_secret: SecretStr = SecretStr("")
    verify_token: SecretStr = SecretStr("")
    # Pinned Graph API version; a business service provider sets its own API root here.
    api_url: str = "https://graph.facebook.com/v23.0"
    # The approved template that re-opens a member's 24-hour window, and the category
    # Meta approved it in (what it is billed as).
    template_name: str = ""
    template_language: str = "en"
    template_category: Literal["utility", "marketing", "authentication"] = "utility"
    # The business number in international format without "+", for wa.me join links.
    business_number: str = ""
    # Pacing: Cloud API default throughput per number, and the pair rate limit.
    messages_per_second: float = Field(default=80.0, gt=0)
    member_interval_seconds: float = Field(default=6.0, ge=0)
    member_burst: int = Field(default=3, ge=1)
    timeout_seconds: float = Field(default=15.0, gt=0)
    # Webhook bodies larger than this are refused with 413 unread.
    body_limit_bytes: int = Field(default=BODY_LIMIT, ge=1024)

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as https://graph.facebook.com/v23.0")
        return value.rstrip("/")

    def missing(self) -> list[str]:
        """The settings an enabled adapter needs and does not have."""
        return [
            PREFIX + name.upper()
            for name, value in (
                ("phone_number_id", self.phone_number_id),
                ("app_secret", self.app_secret.get_secret_value()),
                ("verify_token", self.verify_token.get_secret_value()),
                ("template_name", self.template_name),
            )
            if not value
        ]


def load() -> WhatsAppSettings | None:
    """The settings from the environment; None when WhatsApp is not configured (no
    access token). Raises :class:`SettingsError` with one line when they are wrong."""
    try:
        settings = WhatsAppSettings()
    except ValidationError as error:
        raise SettingsError(describe_validation_error(PREFIX, error)) from None
    if not settings.access_token.get_secret_value():
        return None
    missing = settings.missing()
    if missing:
        raise SettingsError(
            "INDABA_WHATSAPP_ACCESS_TOKEN is set but these are missing: " + ", ".join(missing)
        )
    return settings
