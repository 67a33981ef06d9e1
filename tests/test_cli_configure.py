"""``indaba community configure``: an option per community setting."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.core import TyperGroup, TyperOption

from bot.app.cli import app
from bot.engine.community_settings import CommunitySettings
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


def _configure_options() -> dict[str, TyperOption]:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    community = root.commands["community"]
    assert isinstance(community, TyperGroup)
    configure = community.commands["configure"]
    return {p.name: p for p in configure.params if isinstance(p, TyperOption) and p.name}


def test_every_setting_has_its_option() -> None:
    options = _configure_options()
    for field in CommunitySettings.model_fields:
        assert field in options, field
        assert options[field].help, field
    assert options["questions_days_before"].opts == ["--questions-days"]
    assert options["wall_refresh_days_before_workshop"].opts == [
        "--wall-refresh-days-before-workshop"
    ]
    assert options["ask_facilitators"].secondary_opts == ["--no-ask-facilitators"]
    assert options["questions_days_before"].help == (
        "questions days before the meeting, 1 to 60 (default 7)"
    )
    assert options["agenda_voting"].help == "agenda voting: approval or dots (default approval)"
    assert "language" in options


def test_configure_flags_language_and_the_newer_settings(tmp_path: Path, database_url: str) -> None:
    env = db_env(tmp_path, database_url)
    assert indaba("db", "upgrade", env=env).returncode == 0
    assert (
        indaba("community", "create", "Dakar Open", "-t", "Africa/Dakar", env=env).returncode == 0
    )
    result = indaba(
        "community", "configure", "Dakar Open", "--ask-facilitators", "--language", "fr",
        "--question-weekday", "3", "--question-time", "11:15", "--practice-ask-hours-after", "6",
        "--wall-refresh-days-before-workshop", "0", "--question-decline-weeks", "4",
        env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for expected in (
        "'ask_facilitators': True",
        "'question_weekday': 3",
        "'question_time': '11:15'",
        "'practice_ask_hours_after': 6",
        "'wall_refresh_days_before_workshop': 0",
        "'question_decline_weeks': 4",
    ):
        assert expected in result.stdout, expected
    assert "\tfr\t" in indaba("community", "list", env=env).stdout
    off = indaba("community", "configure", "Dakar Open", "--no-ask-facilitators", env=env)
    assert "'ask_facilitators': False" in off.stdout and "'question_weekday': 3" in off.stdout
    bad = indaba("community", "configure", "Dakar Open", "--question-time", "25:00", env=env)
    assert bad.returncode == 1 and "question-time" in bad.stderr.lower()
    unknown = indaba("community", "configure", "Thiès", "--agenda-dots", "2", env=env)
    assert unknown.stderr.strip().splitlines() == ["indaba: no community named 'Thiès'"]
    not_a_number = indaba("community", "configure", "Dakar Open", "--agenda-dots", "many", env=env)
    assert not_a_number.returncode == 2
