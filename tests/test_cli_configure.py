"""``indaba community configure``: the agenda, digest and wall settings."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli import db_env, indaba


def test_configure_agenda_digest_and_wall(tmp_path: Path, database_url: str) -> None:
    env = db_env(tmp_path, database_url)
    assert indaba("db", "upgrade", env=env).returncode == 0
    assert (
        indaba("community", "create", "Kampala GIS", "-t", "Africa/Kampala", env=env).returncode
        == 0
    )
    result = indaba(
        "community", "configure", "Kampala GIS",
        "--agenda-voting", "dots", "--agenda-dots", "5",
        "--agenda-open-days", "21", "--agenda-vote-days", "10", "--agenda-close-days", "3",
        "--digest-weekday", "4", "--digest-time", "16:30", "--wall-refresh-days", "0",
        env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for expected in (
        "'agenda_voting': 'dots'",
        "'agenda_dots': 5",
        "'agenda_open_days_before': 21",
        "'agenda_vote_days_before': 10",
        "'agenda_close_days_before': 3",
        "'digest_weekday': 4",
        "'digest_time': '16:30'",
        "'wall_refresh_days': 0",
    ):
        assert expected in result.stdout, expected
    # Settings not given keep their value.
    again = indaba("community", "configure", "Kampala GIS", "--agenda-dots", "4", env=env)
    assert "'agenda_voting': 'dots'" in again.stdout and "'agenda_dots': 4" in again.stdout
    bad = indaba("community", "configure", "Kampala GIS", "--agenda-voting", "ranked", env=env)
    assert bad.returncode == 1
    assert len(bad.stderr.strip().splitlines()) == 1 and "agenda-voting" in bad.stderr.lower()
    bad = indaba("community", "configure", "Kampala GIS", "--digest-weekday", "7", env=env)
    assert bad.returncode == 1 and "digest-weekday" in bad.stderr.lower()
