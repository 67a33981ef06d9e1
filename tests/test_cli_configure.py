"""``indaba community configure``: an option per community setting."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from typer.core import TyperGroup, TyperOption

from bot.app.cli import app
from bot.engine.community_settings import CommunitySettings
from tests.test_cli import db_env, indaba


def shown(stdout: str) -> set[tuple[str, str]]:
    """The settings ``configure`` printed, one a line: (option, value)."""
    pairs = set()
    for line in stdout.splitlines()[1:]:
        words = line.split()
        if len(words) >= 2 and words[0].startswith("--"):
            pairs.add((words[0], words[1]))
    return pairs


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
        ("--agenda-voting", "dots"),
        ("--agenda-dots", "5"),
        ("--agenda-open-days", "21"),
        ("--agenda-vote-days", "10"),
        ("--agenda-close-days", "3"),
        ("--digest-weekday", "4"),
        ("--digest-time", "16:30"),
        ("--wall-refresh-days", "0"),
    ):
        assert expected in shown(result.stdout), expected
    # Settings not given keep their value.
    again = indaba("community", "configure", "Kampala GIS", "--agenda-dots", "4", env=env)
    assert {("--agenda-voting", "dots"), ("--agenda-dots", "4")} <= shown(again.stdout)
    assert re.search(r"^  --agenda-dots +4  \(changed\)$", again.stdout, re.M)
    assert not re.search(r"--agenda-voting .*changed", again.stdout)
    bad = indaba("community", "configure", "Kampala GIS", "--agenda-voting", "ranked", env=env)
    assert bad.returncode == 1
    assert len(bad.stderr.strip().splitlines()) == 1 and "agenda-voting" in bad.stderr.lower()
    bad = indaba("community", "configure", "Kampala GIS", "--digest-weekday", "7", env=env)
    assert bad.returncode == 1 and "digest-weekday" in bad.stderr.lower()


def test_configure_refuses_a_timetable_out_of_order(tmp_path: Path, database_url: str) -> None:
    env = db_env(tmp_path, database_url)
    assert indaba("db", "upgrade", env=env).returncode == 0
    assert indaba("community", "create", "Accra", "-t", "Africa/Accra", env=env).returncode == 0
    late = indaba(
        "community", "configure", "Accra", "--questions-days", "10", "--reminder-days", "12",
        env=env,
    )  # fmt: skip
    assert late.returncode == 1
    assert late.stderr.strip().splitlines() == [
        "indaba: not changed: --reminder-days: the reminder (12 days before the meeting) must "
        "come after the questions (10 days before), so fewer days before than them"
    ]
    brief = indaba("community", "configure", "Accra", "--brief-days", "3", env=env)
    assert brief.returncode == 1 and "--brief-days: the brief (3 days before" in brief.stderr
    vote = indaba("community", "configure", "Accra", "--agenda-vote-days", "20", env=env)
    assert vote.returncode == 1 and "--agenda-vote-days: agenda voting (20 days" in vote.stderr
    # Nothing was saved: the defaults are still there, and a right change is taken.
    fine = indaba(
        "community", "configure", "Accra", "--questions-days", "10", "--reminder-days", "5",
        env=env,
    )  # fmt: skip
    assert fine.returncode == 0, fine.stderr
    assert fine.stdout.startswith("Settings of Accra:\n")
    assert {("--questions-days", "10"), ("--reminder-days", "5"), ("--brief-days", "1")} <= (
        shown(fine.stdout)
    )
    assert "{" not in fine.stdout  # a summary, not a Python dict


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
        ("--ask-facilitators", "on"),
        ("--question-weekday", "3"),
        ("--question-time", "11:15"),
        ("--practice-ask-hours-after", "6"),
        ("--wall-refresh-days-before-workshop", "0"),
        ("--question-decline-weeks", "4"),
    ):
        assert expected in shown(result.stdout), expected
    assert "\tfr\t" in indaba("community", "list", env=env).stdout
    off = indaba("community", "configure", "Dakar Open", "--no-ask-facilitators", env=env)
    assert {("--ask-facilitators", "off"), ("--question-weekday", "3")} <= shown(off.stdout)
    bad = indaba("community", "configure", "Dakar Open", "--question-time", "25:00", env=env)
    assert bad.returncode == 1 and "question-time" in bad.stderr.lower()
    unknown = indaba("community", "configure", "Thiès", "--agenda-dots", "2", env=env)
    assert unknown.stderr.strip().splitlines() == ["indaba: no community named 'Thiès'"]
    not_a_number = indaba("community", "configure", "Dakar Open", "--agenda-dots", "many", env=env)
    assert not_a_number.returncode == 2
