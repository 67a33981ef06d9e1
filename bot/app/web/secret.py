"""The key that signs the pack's links: ``INDABA_WEB_SECRET``, or one kept in the data
directory, made once, so links stay valid across restarts and for the CLI."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from bot.app.settings import Settings
from bot.engine.services.links import Links

FILE = "web-secret"


def web_secret(settings: Settings) -> str:
    if settings.web_secret is not None and settings.web_secret.get_secret_value():
        return settings.web_secret.get_secret_value()
    path = Path(settings.data_dir) / FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside, owner-only, then linked into place: link() never replaces a file,
    # so two processes starting together agree on the first secret written.
    draft = path.with_name(f".{FILE}.{os.getpid()}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(secrets.token_urlsafe(32) + "\n")
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text(encoding="utf-8").strip()


def links_for(settings: Settings) -> Links:
    return Links(web_secret(settings), settings.effective_web_base_url, settings.web_link_days)
