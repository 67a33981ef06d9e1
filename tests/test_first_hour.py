"""The first hour with Indaba, as real processes: the console without an HTTP server, a
busy port in one line, an unknown timezone in words, the clock that says what it ran or
skipped and goes on from where it was, and one database found from any directory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.test_cli import ROOT

CLOCK = ["--clock", "2027-03-01 06:00"]


def indaba_in(
    cwd: Path, args: list[str], env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """``indaba ARGS`` as a real process started in ``cwd``, with only ``env``'s settings."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("INDABA_")}
    full.update(env, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full,
        cwd=cwd,
        timeout=120,
    )


def console_env(tmp_path: Path, database_url: str, port: int) -> dict[str, str]:
    return {
        "INDABA_DATABASE_URL": database_url,
        "INDABA_DATA_DIR": str(tmp_path / "data"),
        "INDABA_HTTP_PORT": str(port),
    }


def test_the_console_needs_no_http_server_and_a_busy_port_is_one_line(
    tmp_path: Path, database_url: str
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        env = console_env(tmp_path, database_url, port)
        alone = indaba_in(tmp_path, ["run", "--migrate", "--no-demo", *CLOCK], env, "/quit\n")
        assert alone.returncode == 0, alone.stderr
        assert "Traceback" not in alone.stderr and "Indaba console" in alone.stdout
        asked = indaba_in(tmp_path, ["run", "--no-demo", "--http", *CLOCK], env, "/quit\n")
    assert asked.returncode == 1
    assert asked.stderr.strip().splitlines() == [
        f"indaba: port {port} on 127.0.0.1 is already in use: stop what listens there, "
        "choose another with INDABA_HTTP_PORT, or run without --http"
    ]


def test_an_unknown_timezone_is_said_in_words(tmp_path: Path, database_url: str) -> None:
    env = console_env(tmp_path, database_url, 0)
    out = indaba_in(
        tmp_path,
        ["run", "--migrate", "--no-demo", *CLOCK],
        env,
        '/community new "Mars Data" Mars/Olympus\n/quit\n',
    ).stdout
    assert "cannot create it: Unknown timezone. Use a name like Africa/Nairobi" in out
    assert "error.timezone" not in out


def test_the_clock_says_what_ran_and_goes_on_after_a_restart(
    tmp_path: Path, database_url: str
) -> None:
    env = console_env(tmp_path, database_url, 0)
    first = indaba_in(
        tmp_path,
        ["run", "--migrate", "--no-demo", *CLOCK],
        env,
        "\n".join(
            (
                '/community new "Lagos Data" Africa/Lagos',
                "/as fatima",
                "/group lagos",
                "/setup $SETUP_CODE",
                "/meeting add 2027-03-05 14:00 March meeting",
                "/clock 2027-03-06 10:00",
                "/quit",
            )
        )
        + "\n",
    ).stdout
    # Every step the jump played out is named, what ran and what it was too late for.
    assert (
        "⏱ skipped brief of 'March meeting' (due Thu 04 Mar 08:00 UTC): too late to be useful"
    ) in first
    assert "⏱ ran practice-ask of 'March meeting' (due Fri 05 Mar 16:00 UTC): asked" in first
    assert "⏱ skipped retention of Lagos Data (due Sat 06 Mar 02:00 UTC)" in first
    assert "clock: Sat 06 Mar 2027 10:00 UTC" in first
    again = indaba_in(tmp_path, ["run", "--no-demo"], env, "/clock\n/status\n/quit\n").stdout
    assert "The console's clock goes on from Sat 06 Mar 2027 10:00 UTC" in again
    assert "clock: Sat 06 Mar 2027 10:0" in again
    # The meeting is over: it is not shown again as one to come.
    assert "March meeting at" not in again


def test_every_command_finds_one_database_from_any_directory(tmp_path: Path) -> None:
    """No database setting at all: the user's data directory, wherever a command starts."""
    home = tmp_path / "home"
    env = {"HOME": str(home), "XDG_DATA_HOME": str(home / ".local" / "share")}
    database = home / ".local" / "share" / "indaba" / "indaba.db"
    here, there = tmp_path / "here", tmp_path / "there"
    here.mkdir()
    there.mkdir()
    missing = indaba_in(here, ["community", "list"], env)
    assert missing.returncode == 1
    assert f"(database: {database};" in missing.stderr  # it names the file it opened
    assert indaba_in(here, ["db", "upgrade"], env).returncode == 0
    created = indaba_in(there, ["community", "create", "Lagos Data", "-t", "Africa/Lagos"], env)
    assert created.returncode == 0, created.stderr
    listed = indaba_in(tmp_path, ["community", "list"], env)
    assert "Lagos Data" in listed.stdout
    assert database.exists()
    assert not (here / "data").exists() and not (there / "data").exists()
