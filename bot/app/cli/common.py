"""What every command shares: settings read once, a coroutine run, failures as one line."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import typer
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.adapter import SettingsError, StartupError
from bot.app import admin
from bot.app.settings import Settings, load_settings
from bot.engine.services.meetings import MeetingError
from bot.engine.services.onboarding import OnboardingError
from bot.engine.texts import Texts
from storage.db import create_engine, read_only_sessions, session_factory

T = TypeVar("T")

Job = Callable[[async_sessionmaker[AsyncSession]], Awaitable[T]]


class Fatal(Exception):
    """Stop with one clear line."""


def fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"indaba: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def read_settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        fail(str(error), 2)


def run(coro_factory: Callable[[], Awaitable[T]], *, server: bool = False) -> T:
    """Run a coroutine to its end; an error the operator can fix ends it in one line.

    ``server`` (``indaba run``) runs it on uvloop where it is installed: the webhooks'
    acknowledgements, the database's round trips and the platforms' calls all cost the
    event loop less. The one-shot commands keep asyncio's own loop (and their memory).
    """

    async def main() -> T:
        return await coro_factory()

    try:
        with asyncio.Runner(loop_factory=_server_loop() if server else None) as runner:
            return runner.run(main())
    except (OperationalError, DBAPIError, OSError) as error:
        fail(f"cannot use the database: {str(error).splitlines()[0]}")
    except SettingsError as error:
        fail(str(error), 2)
    except (admin.SchemaBehind, admin.AdminError, Fatal, StartupError) as error:
        fail(str(error))


def _server_loop() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # not built for this platform: asyncio's loop serves
        return None
    return uvloop.new_event_loop


def on_engine(
    settings: Settings, job: Callable[[AsyncEngine], Awaitable[T]], *, check: bool = True
) -> T:
    """Run ``job`` on the configured database, checking its schema first.

    Only the database is opened: no adapter, timetable or delivery loop, so an admin
    command is quick and can run beside a running Indaba.
    """

    async def with_engine() -> T:
        db = create_engine(settings.effective_database_url)
        where = settings.database_location
        try:
            if check:
                await admin.check_schema(db)
            return await job(db)
        except (OnboardingError, MeetingError) as error:
            raise Fatal(Texts(settings.prompts_dir).render(error.key)) from None
        except admin.SchemaBehind as error:
            raise Fatal(
                f"{error} (database: {where}; INDABA_DATA_DIR or INDABA_DATABASE_URL choose it)"
            ) from None
        except (OperationalError, DBAPIError, OSError) as error:
            raise Fatal(f"cannot use the database {where}: {str(error).splitlines()[0]}") from None
        finally:
            await db.dispose()

    return run(with_engine)


def on_database(settings: Settings, job: Job[T], *, read_only: bool = False) -> T:
    """Run ``job`` with sessions on the configured database (see :func:`on_engine`);
    ``read_only`` sessions take no write lock on SQLite."""
    factory = read_only_sessions if read_only else session_factory
    return on_engine(settings, lambda db: job(factory(db)))


def in_session(
    settings: Settings, job: Callable[[AsyncSession], Awaitable[T]], *, read_only: bool = False
) -> T:
    """Run ``job`` in one session on the configured database (see :func:`on_engine`)."""

    async def with_session(sessions: async_sessionmaker[AsyncSession]) -> T:
        async with sessions() as session:
            return await job(session)

    return on_database(settings, with_session, read_only=read_only)
