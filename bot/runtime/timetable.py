"""The timetable: when each step of a community's cycle runs, on APScheduler.

The schedule is derived from Indaba's own tables (meetings, community settings), so
it is rebuilt at every start and nothing is kept in an APScheduler job store. Each
occurrence has a unique key recorded in ``timetable_runs`` in the same transaction
as the work it does: firing twice, or on two processes, does the work once. An
occurrence whose time passed while Indaba was down runs at start while it is still
useful (before its ``expires_at``) and is skipped with a log line after that.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runtime.clock import Clock
from bot.runtime.metrics import Metrics
from storage.bulk import insert_ignore
from storage.models import Community, Meeting, TimetableRun

log = logging.getLogger(__name__)

# How far ahead APScheduler jobs are created; later ones are added by the resync job.
HORIZON = timedelta(days=35)
RESYNC_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Occurrence:
    key: str
    step: str
    community_id: int
    due_at: datetime
    expires_at: datetime
    meeting_id: int | None = None


class Step(Protocol):
    """One kind of timetabled work (ask the questions, send the brief, post the digest)."""

    name: str

    def occurrences(
        self, community: Community, meetings: Sequence[Meeting], now: datetime
    ) -> Iterable[Occurrence]:
        """The step's occurrences for ``community`` (its settings are the step's business)."""
        ...

    async def run(
        self, session: AsyncSession, community: Community, occurrence: Occurrence, now: datetime
    ) -> str:
        """Do the work; return a short account of it for the log and ``indaba status``."""
        ...


class Timetable:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        steps: Sequence[Step],
        metrics: Metrics,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._steps = {step.name: step for step in steps}
        self._metrics = metrics
        self._scheduler: AsyncIOScheduler | None = None

    # -- planning -----------------------------------------------------------------

    async def plan(self, now: datetime, horizon: timedelta = HORIZON) -> list[Occurrence]:
        """Occurrences due up to ``now + horizon`` that have not run yet, earliest first."""
        async with self._sessions() as session:
            communities = (await session.scalars(select(Community))).all()
            meetings = (
                await session.scalars(
                    select(Meeting)
                    .where(
                        Meeting.cancelled_at.is_(None),
                        Meeting.starts_at > now - timedelta(days=2),
                    )
                    .order_by(Meeting.starts_at)
                )
            ).all()
            occurrences: list[Occurrence] = []
            for community in communities:
                own = [m for m in meetings if m.community_id == community.id]
                for step in self._steps.values():
                    occurrences.extend(
                        o
                        for o in step.occurrences(community, own, now)
                        if o.due_at <= now + horizon
                    )
            done = (
                set(
                    (
                        await session.scalars(
                            select(TimetableRun.key).where(
                                TimetableRun.key.in_([o.key for o in occurrences])
                            )
                        )
                    ).all()
                )
                if occurrences
                else set()
            )
        return sorted(
            (o for o in occurrences if o.key not in done), key=lambda o: (o.due_at, o.key)
        )

    # -- running ------------------------------------------------------------------

    async def run_due(self) -> int:
        """Run (or skip, when too late) every occurrence that is due; returns how many ran."""
        now = self._clock.now()
        ran = 0
        for occurrence in await self.plan(now, horizon=timedelta(0)):
            if occurrence.due_at > now:
                continue
            if await self._run(occurrence, now):
                ran += 1
        return ran

    async def _run(self, occurrence: Occurrence, now: datetime) -> bool:
        step = self._steps[occurrence.step]
        async with self._sessions() as session, session.begin():
            late = now >= occurrence.expires_at
            claimed = await insert_ignore(
                session,
                TimetableRun,
                [
                    {
                        "key": occurrence.key,
                        "community_id": occurrence.community_id,
                        "meeting_id": occurrence.meeting_id,
                        "step": occurrence.step,
                        "due_at": occurrence.due_at,
                        "ran_at": now,
                        "outcome": "skipped" if late else "done",
                    }
                ],
                ["key"],
            )
            if not claimed:
                return False
            if late:
                log.info(
                    "skipped %s: due %s, no longer useful after %s",
                    occurrence.key,
                    occurrence.due_at.isoformat(),
                    occurrence.expires_at.isoformat(),
                )
                self._metrics.timetable_runs.labels(occurrence.step, "skipped").inc()
                return False
            community = await session.get(Community, occurrence.community_id)
            assert community is not None
            detail = await step.run(session, community, occurrence, now)
            run = await session.get(TimetableRun, claimed[0])
            if run is not None:
                run.detail = detail
        lateness = (now - occurrence.due_at).total_seconds()
        log.info(
            "ran %s%s: %s",
            occurrence.key,
            f" ({lateness / 60:.0f} min late)" if lateness > 120 else "",
            detail,
        )
        self._metrics.timetable_runs.labels(occurrence.step, "done").inc()
        return True

    # -- APScheduler ------------------------------------------------------------------

    async def start(self) -> None:
        """Catch up on what is due, then let APScheduler fire the rest on time."""
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._scheduler.start()
        self._scheduler.add_job(
            self.resync,
            "interval",
            seconds=RESYNC_SECONDS,
            id="resync",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=None,
        )
        await self.resync()

    async def resync(self) -> None:
        """Run what is due and (re)create a job for each occurrence ahead.

        Also picks up meetings added by another process (``indaba meeting add``).
        """
        await self.run_due()
        if self._scheduler is None:
            return
        now = self._clock.now()
        wanted = {o.key: o for o in await self.plan(now) if o.due_at > now}
        for job in self._scheduler.get_jobs():
            if job.id != "resync" and job.id not in wanted:
                job.remove()
        for key, occurrence in wanted.items():
            run_date = self._clock.to_real(occurrence.due_at)
            existing = self._scheduler.get_job(key)
            if existing is not None and existing.next_run_time == run_date:
                continue
            self._scheduler.add_job(
                self.run_due,
                DateTrigger(run_date=run_date),
                id=key,
                name=key,
                replace_existing=True,
                misfire_grace_time=None,
                coalesce=True,
            )

    async def on_clock_advanced(self, _now: datetime) -> None:
        await self.resync()

    def next_jobs(self, limit: int = 10) -> list[tuple[str, datetime]]:
        if self._scheduler is None:
            return []
        jobs = [j for j in self._scheduler.get_jobs() if j.id != "resync" and j.next_run_time]
        jobs.sort(key=lambda j: j.next_run_time)
        return [(j.id, j.next_run_time) for j in jobs[:limit]]

    async def aclose(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
