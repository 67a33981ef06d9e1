"""The command line: help, settings errors in one line, schema checks, communities, status.

Commands run in this process through typer's runner; the console script and ``python -m
bot`` are run as real processes where the process boundary is what is tested.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from bot.app.cli import app
from bot.app.settings import Settings
from storage.db import create_engine
from storage.migrate import head_revision
from storage.models import InboxEvent, OutboxMessage, Replica
from tests.processes import indaba_env

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Ran:
    """How a command ended, named as for a process."""

    returncode: int
    stdout: str
    stderr: str


def indaba(*args: str, env: dict[str, str] | None = None) -> Ran:
    """``indaba ARGS`` in this process, with only the ``INDABA_`` settings in ``env``."""
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("INDABA_")}
    result = CliRunner().invoke(app, list(args), env={**unset, **(env or {})})
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)


def indaba_process(
    command: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A real process from this checkout, with only the ``INDABA_`` settings in ``env``."""
    full_env = indaba_env({**(env or {}), "PYTHONPATH": str(ROOT)})
    return subprocess.run(
        command, capture_output=True, text=True, env=full_env, cwd=ROOT, timeout=120
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


def test_the_console_script_answers_help() -> None:
    script = Path(sys.executable).with_name("indaba")
    assert script.exists(), "install the package: pip install -e '.[dev]'"
    result = indaba_process([str(script), "--help"])
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout
    for group in ("run", "db", "community", "meeting", "harvest", "outbox", "status"):
        assert group in result.stdout


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
    result = indaba_process(
        [sys.executable, "-m", "bot", "run", "--no-http"], env=db_env(tmp_path, database_url)
    )
    assert result.returncode == 1
    assert "indaba db upgrade" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_admin_commands_refuse_a_database_that_is_behind(tmp_path: Path, database_url: str) -> None:
    env = db_env(tmp_path, database_url)
    for command in (["db", "check"], ["status"], ["community", "list"], ["meeting", "list"]):
        result = indaba(*command, env=env)
        assert result.returncode == 1, command
        # The line names the database it opened.
        where = Settings(database_url=database_url).database_location
        assert result.stderr.strip().splitlines() == [
            "indaba: the database schema is at nothing but this Indaba needs "
            f"{head_revision(database_url)}: run 'indaba db upgrade' (or start with 'indaba run --migrate')"
            f" (database: {where}; INDABA_DATA_DIR or INDABA_DATABASE_URL choose it)"
        ], command
    assert indaba("db", "upgrade", env=env).returncode == 0
    assert indaba("db", "check", env=env).stdout == "database schema is up to date\n"


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
    assert configured.returncode == 0
    assert "  --questions-days " in configured.stdout and "10  (changed)" in configured.stdout
    status = indaba("status", env=env)
    assert status.returncode == 0, status.stderr
    assert "Nairobi Data" in status.stdout
    # The questions' first run, for members east of Nairobi: when 09:00 first comes.
    assert f"questions:1:east at {day - timedelta(days=11)} 19:00 UTC" in status.stdout
    assert "outbox: empty" in status.stdout


async def _dead_message(database_url: str, status: str) -> None:
    db = create_engine(database_url)
    try:
        async with db.begin() as connection:
            now = datetime.now(UTC)
            await connection.execute(
                OutboxMessage.__table__.insert().values(
                    idempotency_key=f"test:{status}",
                    platform="telegram",
                    conversation_kind="dm",
                    conversation_id="42",
                    text="Hello",
                    choices=[],
                    options={},
                    context={},
                    status=status,
                    attempts=8,
                    next_attempt_at=now,
                    last_error="403 Forbidden: bot was blocked by the user",
                    created_at=now,
                )
            )
    finally:
        await db.dispose()


def test_lists_codes_and_the_outbox(tmp_path: Path, database_url: str) -> None:
    env = db_env(tmp_path, database_url)
    assert indaba("db", "upgrade", env=env).returncode == 0
    assert indaba("community", "list", env=env).stdout == "no communities yet\n"
    assert indaba("meeting", "list", env=env).stdout == "no meetings ahead\n"
    assert (
        indaba("community", "create", "Accra Health", "-t", "Africa/Accra", env=env).returncode == 0
    )
    listed = indaba("community", "list", env=env)
    assert listed.stdout == "1\tAccra Health\tAfrica/Accra\ten\t0 members\n"
    code = indaba("community", "code", "Accra Health", "--kind", "setup", env=env)
    assert code.returncode == 0 and len(code.stdout.strip()) == 11, code.stdout
    assert indaba("community", "code", "1", env=env).returncode == 0
    wrong = indaba("community", "code", "Accra Health", "--kind", "admin", env=env)
    assert wrong.returncode == 2 and "--kind must be setup or join" in wrong.stderr
    unknown = indaba("community", "code", "Kumasi", env=env)
    assert unknown.returncode == 1
    assert unknown.stderr.strip().splitlines() == ["indaba: no community named 'Kumasi'"]
    day = date.today() + timedelta(days=20)
    assert (
        indaba("meeting", "add", "-c", "1", "--at", str(day), "--workshop", env=env).returncode == 0
    )
    ahead = indaba("meeting", "list", env=env).stdout.split("\t")
    assert ahead[:3] == ["1", "1", "workshop"] and ahead[-1] == "Quarterly workshop\n"
    past = indaba("meeting", "add", "-c", "1", "--at", "2020-01-01 10:00", env=env)
    assert past.returncode == 1 and len(past.stderr.strip().splitlines()) == 1

    assert indaba("outbox", "retry", env=env).returncode == 2
    assert indaba("outbox", "retry", "--dead", env=env).stdout == "0 message(s) queued again\n"
    asyncio.run(_dead_message(database_url, "dead"))
    asyncio.run(_dead_message(database_url, "unreachable"))
    status = indaba("status", env=env).stdout
    assert "dead or unreachable messages" in status and "outbox: dead 1, unreachable 1" in status
    assert "2\tunreachable\ttelegram:42\t8 attempts\t403 Forbidden" in status
    assert indaba("outbox", "retry", "--dead", env=env).stdout == "1 message(s) queued again\n"
    assert indaba("outbox", "retry", "--id", "2", env=env).stdout == "1 message(s) queued again\n"
    assert indaba("outbox", "retry", "--id", "2", env=env).stdout == "0 message(s) queued again\n"
    status = indaba("status", env=env).stdout
    assert "dead or unreachable" not in status and "outbox: pending 2" in status


async def _dead_event_and_a_replica(database_url: str) -> None:
    engine = create_engine(database_url)
    now = datetime.now(UTC)
    async with engine.begin() as connection:
        await connection.execute(
            InboxEvent.__table__.insert(),
            {
                "platform": "whatsapp",
                "conversation_key": "whatsapp:2547",
                "kind": "MessageReceived",
                "payload": {},
                "status": "dead",
                "attempts": 6,
                "next_attempt_at": now,
                "received_at": now,
                "last_error": "RuntimeError: the engine failed",
            },
        )
        await connection.execute(
            Replica.__table__.insert(),
            {
                "id": "host-1-abc",
                "host": "host",
                "pid": 1,
                "started_at": now,
                "seen_at": now,
                "leads": "timetable",
            },
        )
    await engine.dispose()


def test_status_shows_the_inbox_and_the_replicas(tmp_path: Path, database_url: str) -> None:
    env = db_env(tmp_path, database_url)
    assert indaba("db", "upgrade", env=env).returncode == 0
    assert "inbox: nothing waiting" in indaba("status", env=env).stdout
    asyncio.run(_dead_event_and_a_replica(database_url))
    status = indaba("status", env=env).stdout
    assert "inbox: dead 1" in status
    assert "1\twhatsapp\tMessageReceived\t6 attempts\tRuntimeError: the engine failed" in status
    assert "replica host-1-abc: pid 1 on host" in status and "leads timetable" in status
    assert indaba("inbox", "retry", env=env).returncode == 2
    assert indaba("inbox", "retry", "--dead", env=env).stdout == "1 event(s) queued again\n"
    assert "inbox: pending 1" in indaba("status", env=env).stdout
