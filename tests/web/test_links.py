"""Signed links: what they open and until when, the key they are signed with (from the
settings, or made once in the data directory), and links kept out of the access log."""

from __future__ import annotations

import logging
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.app.settings import Settings
from bot.app.web.routes import HideLinks
from bot.app.web.secret import FILE, links_for, web_secret
from bot.engine.services.links import BadLink, Grant, LinkExpired, Links, Page, Scope

NOW = datetime(2026, 11, 2, 6, tzinfo=UTC)


def test_a_link_opens_its_pages_until_it_expires() -> None:
    links = Links("s3cret", "https://cop.example.org/", 30)
    url = links.meeting(7, links.expiry(NOW), Page.HARVEST)
    assert url.startswith("https://cop.example.org/pack/") and url.endswith("/harvest")
    token = url.split("/")[-2]
    grant = links.grant(token, NOW + timedelta(days=29))
    assert grant == Grant(Scope.MEETING, 7, NOW + timedelta(days=30))
    assert grant.opens(Page.AGENDA) and grant.opens(Page.POSTER_PDF)
    assert not grant.opens(Page.WALL) and not grant.opens(Page.JOURNEY)
    with pytest.raises(LinkExpired):
        links.grant(token, NOW + timedelta(days=30))
    community = links.grant(links.community(3, links.expiry(NOW, 2)).split("/")[-2], NOW)
    assert community.scope is Scope.COMMUNITY and community.opens(Page.WALL)
    assert community.expires_at == NOW + timedelta(days=2)


def test_a_changed_or_foreign_link_is_refused() -> None:
    links = Links("s3cret", "http://x")
    token = links.token(Grant(Scope.MEETING, 7, NOW + timedelta(days=1)))
    payload, signature = token.split(".")
    for bad in (
        token[:-1] + ("A" if token[-1] != "A" else "B"),
        payload + "." + signature[:-3],
        payload.replace(payload[5], "A" if payload[5] != "A" else "B") + "." + signature,
        "",
        "not-a-token",
        Links("another secret", "http://x").token(Grant(Scope.MEETING, 7, NOW + timedelta(1))),
    ):
        with pytest.raises(BadLink):
            links.grant(bad, NOW)
    # An expired link is refused as expired, not as changed.
    old = links.token(Grant(Scope.MEETING, 7, NOW - timedelta(seconds=1)))
    with pytest.raises(LinkExpired):
        links.grant(old, NOW)


def test_the_key_comes_from_the_settings_or_is_made_once(tmp_path: Path) -> None:
    given = Settings(data_dir=tmp_path, web_secret=SecretStr("from-the-environment"))
    assert web_secret(given) == "from-the-environment"
    assert not (tmp_path / FILE).exists()
    made = Settings(data_dir=tmp_path / "data")
    first = web_secret(made)
    path = tmp_path / "data" / FILE
    assert len(first) >= 40 and path.read_text().strip() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert web_secret(made) == first
    # A link made by one process (the CLI) opens in another (the server).
    token = links_for(made).token(Grant(Scope.COMMUNITY, 1, NOW + timedelta(days=1)))
    assert links_for(Settings(data_dir=tmp_path / "data")).grant(token, NOW).id == 1
    assert "from-the-environment" not in repr(given)


def test_printed_links_name_the_public_address(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).effective_web_base_url == "http://127.0.0.1:8000"
    assert (
        Settings(data_dir=tmp_path, http_host="0.0.0.0", http_port=9000).effective_web_base_url
        == "http://127.0.0.1:9000"
    )
    public = Settings(data_dir=tmp_path, web_base_url="https://cop.example.org/")
    assert links_for(public).community(1, NOW).startswith("https://cop.example.org/pack/")


def test_the_access_log_never_shows_a_link() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/pack/eyJzIjoibSJ9.c2lnbmF0dXJl/harvest", "1.1", 200),
        None,
    )
    assert HideLinks().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /pack/…/harvest HTTP/1.1" 200'
