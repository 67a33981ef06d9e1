"""The command line: help, settings errors in one line, schema checks, communities, status."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def indaba(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("INDABA_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=ROOT,
        timeout=120,
        input=stdin,
    )


def db_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    return {"INDABA_DATABASE_URL": database_url, "INDABA_DATA_DIR": str(tmp_path)}


def test_every_command_has_help() -> None:
    for command in (
        [],
        ["run"],
        ["db"],
        ["db", "upgrade"],
        ["community", "create"],
        ["meeting", "add"],
        ["status"],
        ["outbox", "retry"],
    ):
        result = indaba(*command, "--help")
        assert result.returncode == 0, result.stderr
        assert "Usage" in result.stdout


def test_a_bad_setting_is_one_clear_line(tmp_path: Path) -> None:
    result = indaba("status", env={"INDABA_LOG_LEVEL": "chatty", "INDABA_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "indaba: bad setting INDABA_LOG_LEVEL: Value error, must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
    ]
    result = indaba(
        "status", env={"INDABA_DATABASE_URL": "mysql://x", "INDABA_DATA_DIR": str(tmp_path)}
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "INDABA_DATABASE_URL" in result.stderr


def test_run_refuses_a_database_that_is_behind(tmp_path: Path, database_url: str) -> None:
    result = indaba("run", "--no-http", env=db_env(tmp_path, database_url))
    assert result.returncode == 1
    assert "indaba db upgrade" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_community_meeting_and_status(tmp_path: Path, database_url: str) -> None:
    env = db_env(tmp_path, database_url)
    assert indaba("db", "upgrade", env=env).returncode == 0
    created = indaba("community", "create", "Nairobi Data", "--timezone", "Africa/Nairobi", env=env)
    assert created.returncode == 0, created.stderr
    assert "Facilitator code" in created.stdout and "/setup " in created.stdout
    again = indaba("community", "create", "Nairobi Data", "--timezone", "Africa/Nairobi", env=env)
    assert again.returncode == 1 and "already exists" in again.stderr
    bad_tz = indaba("community", "create", "Other", "--timezone", "Mars/Olympus", env=env)
    assert bad_tz.returncode == 1 and "timezone" in bad_tz.stderr.lower()
    day = date.today() + timedelta(days=40)
    added = indaba(
        "meeting",
        "add",
        "-c",
        "Nairobi Data",
        "--at",
        f"{day} 14:00",
        "--title",
        "January meeting",
        env=env,
    )
    assert added.returncode == 0, added.stderr
    assert "January meeting" in added.stdout
    configured = indaba("community", "configure", "Nairobi Data", "--questions-days", "10", env=env)
    assert configured.returncode == 0 and "'questions_days_before': 10" in configured.stdout
    status = indaba("status", env=env)
    assert status.returncode == 0, status.stderr
    assert "Nairobi Data" in status.stdout
    assert f"questions:1 at {day - timedelta(days=10)} 06:00 UTC" in status.stdout
    assert "outbox: empty" in status.stdout
