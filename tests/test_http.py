"""The HTTP server: health, readiness (database reachable) and Prometheus metrics."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import func, select

from storage.models import OutboxMessage
from tests.harness import Harness


async def test_health_ready_and_metrics(database_url: str, tmp_path: Path) -> None:
    h = await Harness.create(database_url, tmp_path, http_port=0)
    try:
        await h.indaba.serve_http()
        port = await h.indaba.http_port()
        setup, _ = await h.create_community()
        await h.say("fatima", f"/setup {setup}", "#cop")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            ready = await client.get("/readyz")
            assert ready.status_code == 200 and ready.json()["database"] == "ok"
            metrics = (await client.get("/metrics")).text
            async with h.indaba.sessions() as session:
                sent = await session.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.status == "sent")
                )
            assert sent and sent >= 2
            assert f'indaba_outbox_sent_total{{platform="memory"}} {float(sent)}' in metrics
            assert 'indaba_outbox_depth{status="pending"} 0.0' in metrics
            assert "indaba_inbound_events_total" in metrics
            await h.indaba.db.dispose()
            h.indaba.db.sync_engine.pool._creator = _refuse  # type: ignore[attr-defined]
            down = await client.get("/readyz")
            assert down.status_code == 503
            assert (await client.get("/nowhere")).status_code == 404
    finally:
        await h.aclose()


def _refuse(*_args: object) -> object:
    raise OSError("database is down")
