"""``indaba harvest export`` loads what an export uses, not the running bot."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from tests.test_cli import db_env, indaba, indaba_process
from tests.test_harvest_export import _prepare

# The platforms' SDKs, the adapters, the web server, the engine's commands and timetable
# steps, which only ``indaba run`` needs, iCalendar, which only invitations need, and
# Alembic, which only an upgrade needs (the schema check reads one row).
NOT_FOR_EXPORT = (
    "slack_bolt",
    "slack_sdk",
    "telegram",
    "aiohttp",
    "httpx",
    "adapters",
    "uvicorn",
    "bot.engine.commands",
    "bot.engine.steps",
    "bot.engine.engine",
    "bot.app.wiring",
    "icalendar",
    "alembic",
)

# Runs the command line in this process and, when it exits, lists what it loaded.
COMMAND = """
import atexit, json, runpy, sys
atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))
sys.argv = ["indaba", *sys.argv[1:]]
runpy.run_module("bot.app.cli", run_name="__main__")
"""


def loaded(prefixes: tuple[str, ...], modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes)]


def test_importing_the_command_line_loads_no_platform_nor_themes() -> None:
    ran = indaba_process(
        [
            sys.executable,
            "-c",
            "import json, sys, bot.app.cli; print(json.dumps(sorted(sys.modules)))",
        ]
    )
    assert ran.returncode == 0, ran.stderr
    modules = json.loads(ran.stdout)
    assert "bot.app.cli.harvest" in modules and "bot.engine.services.harvest" in modules
    assert loaded(NOT_FOR_EXPORT, modules) == []
    # scikit-learn and SciPy are loaded when themes are found, not at start.
    assert loaded(("sklearn", "scipy"), modules) == []


def test_an_export_loads_no_platform_sdk(tmp_path: Path, database_url: str) -> None:
    env = db_env(tmp_path, database_url)
    assert indaba("db", "upgrade", env=env).returncode == 0
    meeting_id = asyncio.run(_prepare(database_url, tmp_path))
    out = tmp_path / "minutes.md"
    ran = indaba_process(
        [
            sys.executable,
            "-c",
            COMMAND,
            *("harvest", "export", "--meeting", str(meeting_id), "--output", str(out)),
        ],
        env=env,
    )
    assert ran.returncode == 0, ran.stderr
    assert "Portal launched" in out.read_text(encoding="utf-8")
    modules = json.loads(ran.stderr.strip().splitlines()[-1])
    assert "bot.engine.services.harvest" in modules
    assert loaded(NOT_FOR_EXPORT, modules) == []
