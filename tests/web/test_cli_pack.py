"""``indaba harvest link|poster`` and ``indaba wall link`` on the command line; and
``indaba run --no-console`` with no platform serving the pages on its own."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
from PIL import Image
from pypdf import PdfReader

from tests.harness import Harness
from tests.processes import free_port
from tests.test_cli import ROOT, db_env, indaba
from tests.web.story import AMINA, MEETING, Told, tell


async def _tell(database_url: str, tmp_path: Path) -> Told:
    h = await Harness.create(database_url, tmp_path)
    try:
        return await tell(h)
    finally:
        await h.aclose()


async def _open(database_url: str, tmp_path: Path, paths: list[str]) -> list[httpx.Response]:
    """The pages at ``paths`` from a running Indaba on the same data directory."""
    h = await Harness.create(database_url, tmp_path, http_port=0)
    try:
        await h.indaba.serve_http()
        port = await h.indaba.http_port()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            return [await client.get(path) for path in paths]
    finally:
        await h.aclose()


def test_links_and_posters_from_the_command_line(tmp_path: Path, database_url: str) -> None:
    env = {**db_env(tmp_path, database_url), "INDABA_WEB_BASE_URL": "https://cop.example.org"}
    assert indaba("db", "upgrade", env=env).returncode == 0
    told = asyncio.run(_tell(database_url, tmp_path))

    harvest = indaba("harvest", "link", "--meeting", str(told.meeting_id), "--days", "3", env=env)
    assert harvest.returncode == 0, harvest.stderr
    wall = indaba("wall", "link", "Lagos Civic Tech", env=env)
    assert wall.returncode == 0, wall.stderr
    urls = [harvest.stdout.strip(), wall.stdout.strip()]
    assert all(u.startswith("https://cop.example.org/pack/") for u in urls)
    assert urls[0].endswith("/harvest") and urls[1].endswith("/wall")
    pages = asyncio.run(
        _open(database_url, tmp_path, [u.removeprefix("https://cop.example.org") for u in urls])
    )
    assert [p.status_code for p in pages] == [200, 200]
    assert MEETING in pages[0].text and "Who cares about what" in pages[1].text

    pdf, png = tmp_path / "poster.pdf", tmp_path / "poster.png"
    for path in (pdf, png):
        made = indaba(
            "harvest", "poster", "--meeting", str(told.meeting_id), "--output", str(path), env=env
        )
        assert made.returncode == 0, made.stderr
        assert made.stdout.strip() == f"poster of meeting {told.meeting_id} written to {path}"
    text = " ".join(PdfReader(pdf).pages[0].extract_text().split())
    assert MEETING in text and f"“{AMINA}”" in text
    assert Image.open(io.BytesIO(png.read_bytes())).text["Title"] == MEETING  # type: ignore[attr-defined]

    wrong = indaba("harvest", "poster", "--meeting", "999", "--output", str(pdf), env=env)
    assert wrong.returncode == 1 and "no meeting with id 999" in wrong.stderr
    wrong = indaba("harvest", "poster", "--meeting", "1", "--output", "poster.doc", env=env)
    assert wrong.returncode == 2 and ".pdf or .png" in wrong.stderr
    wrong = indaba("harvest", "link", "--meeting", "999", env=env)
    assert wrong.returncode == 1 and "no meeting with id 999" in wrong.stderr
    wrong = indaba("wall", "link", "Nobody", env=env)
    assert wrong.returncode == 1 and "no community named 'Nobody'" in wrong.stderr


def test_run_without_a_platform_serves_the_pages(tmp_path: Path, database_url: str) -> None:
    port = free_port()
    env = {**db_env(tmp_path, database_url), "INDABA_HTTP_PORT": str(port)}
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("INDABA_")}
    full_env.update(env, PYTHONPATH=str(ROOT))
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--no-console", "--migrate"],
        env=full_env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.communicate()[0].decode()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "indaba run did not start"
            time.sleep(0.2)
        assert (
            indaba("community", "create", "Alone CoP", "--timezone", "UTC", env=env).returncode == 0
        )
        link = indaba("wall", "link", "Alone CoP", env=env)
        assert link.stdout.startswith(f"http://127.0.0.1:{port}/pack/")
        page = httpx.get(link.stdout.strip())
        assert page.status_code == 200 and "Wall of passions and knowledge" in page.text
        assert httpx.get(link.stdout.strip() + "x").status_code == 404
        tampered = link.stdout.strip().replace("/wall", "x/wall")
        assert httpx.get(tampered).status_code == 403
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
    assert process.returncode == 0, output
    # Nobody's link is in the log.
    assert "/pack/…/wall" in output and link.stdout.strip().split("/")[-2] not in output
