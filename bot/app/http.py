"""Indaba's one HTTP server: health, readiness, metrics, the adapters' webhooks and the
meeting pack's pages."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.runtime.metrics import Metrics
from storage.models import InboxEvent, OutboxMessage
from storage.statuses import InboxStatus, OutboxStatus


def build_app(
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    metrics: Metrics,
    adapter_routes: Sequence[BaseRoute],
    adapters_ready: Callable[[], bool],
    pages: Sequence[BaseRoute] = (),
) -> Starlette:
    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        try:
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception as error:
            return JSONResponse(
                {"status": "unavailable", "database": type(error).__name__}, status_code=503
            )
        if not adapters_ready():
            return JSONResponse({"status": "starting", "database": "ok"}, status_code=503)
        return JSONResponse({"status": "ready", "database": "ok"})

    async def metrics_endpoint(_: Request) -> Response:
        await refresh_depth(sessions, metrics)
        return PlainTextResponse(
            metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_endpoint),
        *adapter_routes,
        *pages,
    ]
    return Starlette(routes=routes)


async def refresh_depth(sessions: async_sessionmaker[AsyncSession], metrics: Metrics) -> None:
    async with sessions() as session:
        outbox = dict(
            (
                await session.execute(
                    select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                )
            ).all()
        )
        inbox = dict(
            (
                await session.execute(
                    select(InboxEvent.status, func.count())
                    .where(InboxEvent.status != InboxStatus.DONE)
                    .group_by(InboxEvent.status)
                )
            ).all()
        )
    for status in OutboxStatus:
        metrics.outbox_depth.labels(status).set(outbox.get(status, 0))
    for inbox_status in InboxStatus:
        if inbox_status is not InboxStatus.DONE:
            metrics.inbox_depth.labels(inbox_status).set(inbox.get(inbox_status, 0))
