"""The ``indaba`` command line."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

import typer
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.adapter import StartupError
from bot.app.settings import Settings, SettingsError, describe_validation_error, load_settings
from bot.engine.community_settings import CommunitySettings
from bot.runtime.clock import SystemClock, VirtualClock

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Indaba: keep a Community of Practice talking between meetings.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
community_app = typer.Typer(no_args_is_help=True, help="Communities and their codes.")
meeting_app = typer.Typer(no_args_is_help=True, help="Meetings and workshops.")
outbox_app = typer.Typer(no_args_is_help=True, help="The outbox of outgoing messages.")
harvest_app = typer.Typer(no_args_is_help=True, help="Harvests of meetings.")
app.add_typer(db_app, name="db")
app.add_typer(community_app, name="community")
app.add_typer(meeting_app, name="meeting")
app.add_typer(outbox_app, name="outbox")
app.add_typer(harvest_app, name="harvest")

T = TypeVar("T")


class Fatal(Exception):
    """Stop with one clear line."""


def _fail(message: str, code: int = 1) -> None:
    typer.secho(f"indaba: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _configure_logging(settings: Settings, quiet: bool = False) -> None:
    level = settings.log_level
    if quiet and "INDABA_LOG_LEVEL" not in os.environ:
        level = "WARNING"
    logging.basicConfig(
        level=level,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        _fail(str(error), 2)
        raise  # unreachable


def _run(coro_factory: Callable[[], Awaitable[T]]) -> T:
    from bot.app.wiring import SchemaBehind

    async def main() -> T:
        return await coro_factory()

    try:
        return asyncio.run(main())
    except SchemaBehind as error:
        _fail(str(error))
    except (OperationalError, DBAPIError, OSError) as error:
        _fail(f"cannot use the database: {str(error).splitlines()[0]}")
    except Fatal as error:
        _fail(str(error))
    except SettingsError as error:
        _fail(str(error), 2)
    except StartupError as error:
        _fail(str(error))
    raise AssertionError("unreachable")


async def _with_app(
    settings: Settings, job: Callable[[Any], Awaitable[T]], *, check: bool = True
) -> T:
    from bot.app.wiring import Indaba

    indaba = Indaba(settings, [])
    try:
        if check:
            await indaba.check_schema(migrate=False)
        return await job(indaba)
    finally:
        await indaba.aclose()


# -- run ---------------------------------------------------------------------------------


@app.command()
def run(
    migrate: Annotated[
        bool, typer.Option("--migrate", help="Upgrade the database schema first.")
    ] = False,
    console: Annotated[
        bool | None,
        typer.Option(
            "--console/--no-console",
            help="Force the console on or off (default: on when no platform is configured).",
        ),
    ] = None,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo/--no-demo",
            help="Create a demo community in the console when the database is empty.",
        ),
    ] = True,
    http: Annotated[
        bool,
        typer.Option("--http/--no-http", help="Serve /healthz, /readyz, /metrics and webhooks."),
    ] = True,
    clock: Annotated[
        str | None,
        typer.Option(
            "--clock",
            help="Console only: start the virtual clock at this UTC time, e.g. '2027-03-01 06:00'.",
        ),
    ] = None,
) -> None:
    """Run Indaba: every configured platform adapter, or the console when none is."""
    settings = _settings()
    start = None
    if clock is not None:
        try:
            start = datetime.fromisoformat(clock.replace(" ", "T")).replace(tzinfo=UTC)
        except ValueError:
            _fail(f"--clock: not a date and time: {clock!r} (try '2027-03-01 06:00')", 2)
    _run(lambda: _serve(settings, migrate, console, demo, http, start))


async def _serve(
    settings: Settings,
    migrate: bool,
    console: bool | None,
    demo: bool,
    http: bool,
    start: datetime | None = None,
) -> None:
    from bot.app.demo import seed_demo
    from bot.app.plugins import CONSOLE, configured_adapters
    from bot.app.wiring import Indaba

    try:
        adapters = configured_adapters(settings, console=console)
    except SettingsError as error:
        raise Fatal(str(error)) from None
    console_adapter = next((a for a in adapters if a.name == CONSOLE), None)
    _configure_logging(settings, quiet=console_adapter is not None)
    clock = VirtualClock(start) if console_adapter is not None else SystemClock()
    indaba = Indaba(settings, adapters, clock=clock)
    try:
        await indaba.check_schema(migrate)
        if console_adapter is not None and demo and await seed_demo(indaba.sessions, clock):
            print(
                "A demo community is ready: 'Demo CoP', group #demo, facilitator fatima, "
                "members amina, kwame, thandi, a meeting in 10 days."
            )
        if http:
            await indaba.serve_http()
        await indaba.start()
        if console_adapter is not None:
            console_adapter.attach(indaba)  # type: ignore[attr-defined]
            await indaba.settle()
            await console_adapter.run_until_done()  # type: ignore[attr-defined]
        else:
            await _wait_for_signal()
    finally:
        await indaba.aclose()


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


# -- db ------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database schema up to date."""
    settings = _settings()

    async def job(indaba: Any) -> None:
        from storage.migrate import upgrade

        await upgrade(indaba.db)

    _run(lambda: _with_app(settings, job, check=False))
    typer.echo("database schema is up to date")


@db_app.command("check")
def db_check() -> None:
    """Exit 1 when the database schema is behind."""
    settings = _settings()
    _run(lambda: _with_app(settings, lambda _indaba: asyncio.sleep(0)))
    typer.echo("database schema is up to date")


# -- community -----------------------------------------------------------------------------


@community_app.command("create")
def community_create(
    name: str,
    timezone: Annotated[str, typer.Option("--timezone", "-t", help="e.g. Africa/Lagos")],
    language: Annotated[
        str, typer.Option("--language", "-l", help="default language: en, fr, sw")
    ] = "en",
) -> None:
    """Create a community and print its one-time facilitator code."""
    settings = _settings()
    from bot.engine.services.onboarding import OnboardingError

    async def job(indaba: Any) -> tuple[str, str]:
        try:
            result: tuple[str, str] = await indaba.create_community(name, timezone, language)
        except OnboardingError as error:
            raise Fatal(indaba.texts.render(error.key)) from None
        return result

    setup, join = _run(lambda: _with_app(settings, job))
    typer.echo(f"Community {name!r} created ({timezone}).")
    typer.echo(f"Facilitator code (works once, {settings.setup_code_days} days): {setup}")
    typer.echo(
        f"  type /setup {setup} in the community's group to link it and become its facilitator"
    )
    typer.echo(f"Member join code ({settings.join_code_days} days): {join}")
    typer.echo(f"  members send /join {join} to the bot in a direct message")


@community_app.command("list")
def community_list() -> None:
    """List communities with their member counts."""
    settings = _settings()

    async def job(indaba: Any) -> list[str]:
        from storage.models import Community, Member

        async with indaba.sessions() as session:
            rows = (
                await session.execute(
                    select(Community, func.count(Member.id))
                    .outerjoin(Member, Member.community_id == Community.id)
                    .group_by(Community.id)
                    .order_by(Community.id)
                )
            ).all()
        return [f"{c.id}\t{c.name}\t{c.timezone}\t{c.language}\t{n} members" for c, n in rows]

    for line in _run(lambda: _with_app(settings, job)) or ["no communities yet"]:
        typer.echo(line)


@community_app.command("code")
def community_code(
    name: str,
    kind: Annotated[
        str, typer.Option(help="setup (one facilitator, once) or join (members)")
    ] = "join",
) -> None:
    """Issue a new facilitator (setup) or member (join) code; a new join code replaces the old."""
    settings = _settings()
    from bot.engine.services import onboarding

    if kind not in ("setup", "join"):
        _fail("--kind must be setup or join", 2)

    async def job(indaba: Any) -> str:
        async with indaba.sessions() as session, session.begin():
            community = await onboarding.find_community(session, name)
            if community is None:
                raise Fatal(f"no community named {name!r}")
            days = settings.setup_code_days if kind == "setup" else settings.join_code_days
            code: str = await onboarding.issue_code(
                session,
                community,
                onboarding.CodeKind(kind),
                indaba.clock.now(),
                timedelta(days=days),
                replace=kind == "join",
            )
            return code

    typer.echo(_run(lambda: _with_app(settings, job)))


@community_app.command("configure")
def community_configure(
    name: str,
    questions_days: Annotated[
        int | None, typer.Option(help="days before the meeting the questions go out")
    ] = None,
    reminder_days: Annotated[
        int | None, typer.Option(help="days before the meeting the reminder goes out")
    ] = None,
    brief_days: Annotated[
        int | None, typer.Option(help="days before the meeting facilitators get the brief")
    ] = None,
    send_time: Annotated[
        str | None, typer.Option(help="HH:MM, community time, for every step")
    ] = None,
    language: Annotated[str | None, typer.Option(help="default language")] = None,
    agenda_voting: Annotated[
        str | None, typer.Option(help="approval (choose any items) or dots (a few dots each)")
    ] = None,
    agenda_dots: Annotated[int | None, typer.Option(help="dots per member in dots voting")] = None,
    agenda_open_days: Annotated[
        int | None, typer.Option(help="days before the meeting proposals open")
    ] = None,
    agenda_vote_days: Annotated[
        int | None, typer.Option(help="days before the meeting voting opens")
    ] = None,
    agenda_close_days: Annotated[
        int | None, typer.Option(help="days before the meeting voting closes")
    ] = None,
    digest_weekday: Annotated[
        int | None, typer.Option(help="day of the weekly digest, 0 = Monday")
    ] = None,
    digest_time: Annotated[
        str | None, typer.Option(help="HH:MM, community time, of the weekly digest")
    ] = None,
    wall_refresh_days: Annotated[
        int | None, typer.Option(help="invite members to refresh the wall every N days (0 = off)")
    ] = None,
) -> None:
    """Change a community's timetable offsets and defaults."""
    settings = _settings()
    from pydantic import ValidationError

    from bot.engine.services import onboarding

    async def job(indaba: Any) -> str:
        async with indaba.sessions() as session, session.begin():
            community = await onboarding.find_community(session, name)
            if community is None:
                raise Fatal(f"no community named {name!r}")
            merged = dict(community.settings or {})
            for key, value in (
                ("questions_days_before", questions_days),
                ("reminder_days_before", reminder_days),
                ("brief_days_before", brief_days),
                ("send_time", send_time),
                ("agenda_voting", agenda_voting),
                ("agenda_dots", agenda_dots),
                ("agenda_open_days_before", agenda_open_days),
                ("agenda_vote_days_before", agenda_vote_days),
                ("agenda_close_days_before", agenda_close_days),
                ("digest_weekday", digest_weekday),
                ("digest_time", digest_time),
                ("wall_refresh_days", wall_refresh_days),
            ):
                if value is not None:
                    merged[key] = value
            try:
                checked = CommunitySettings.of(merged)
            except ValidationError as error:
                raise Fatal(describe_validation_error("--", error).replace("_", "-")) from None
            community.settings = checked.model_dump()
            if language:
                community.language = language
            return str(checked.model_dump())

    typer.echo(_run(lambda: _with_app(settings, job)))


# -- meeting -----------------------------------------------------------------------------


@meeting_app.command("add")
def meeting_add(
    community: Annotated[str, typer.Option("--community", "-c", help="community name or id")],
    at: Annotated[str, typer.Option("--at", help="'YYYY-MM-DD HH:MM' in the community's timezone")],
    title: Annotated[str, typer.Option("--title")] = "",
    workshop: Annotated[bool, typer.Option("--workshop", help="a quarterly workshop")] = False,
) -> None:
    """Plan a meeting; its questions, reminder and brief are timetabled from it."""
    settings = _settings()
    from bot.engine.services import onboarding
    from bot.engine.services.meetings import MeetingError, MeetingKind, add_meeting, parse_local

    async def job(indaba: Any) -> str:
        async with indaba.sessions() as session, session.begin():
            found = await onboarding.find_community(session, community)
            if found is None:
                raise Fatal(f"no community named {community!r}")
            date, _, clock_time = at.strip().partition(" ")
            try:
                meeting = await add_meeting(
                    session,
                    found,
                    parse_local(found, date, clock_time or "00:00"),
                    title,
                    MeetingKind.WORKSHOP if workshop else MeetingKind.MEETING,
                    indaba.clock.now(),
                )
            except MeetingError as error:
                raise Fatal(indaba.texts.render(error.key)) from None
            return f"meeting {meeting.id}: {meeting.title} at {meeting.starts_at.isoformat()}"

    typer.echo(_run(lambda: _with_app(settings, job)))


@meeting_app.command("list")
def meeting_list() -> None:
    """List meetings still to come."""
    settings = _settings()

    async def job(indaba: Any) -> list[str]:
        from bot.engine.services.meetings import upcoming

        async with indaba.sessions() as session:
            rows = await upcoming(session, indaba.clock.now())
        return [
            f"{m.id}\t{m.community_id}\t{m.kind}\t{m.starts_at.isoformat()}\t{m.title}"
            for m in rows
        ]

    for line in _run(lambda: _with_app(settings, job)) or ["no meetings ahead"]:
        typer.echo(line)


# -- harvest -----------------------------------------------------------------------------

HARVEST_FORMATS = ("md", "csv", "json")


@harvest_app.command("export")
def harvest_export(
    meeting_id: Annotated[int, typer.Option("--meeting", help="the meeting's id")],
    fmt: Annotated[str, typer.Option("--format", help="md, csv or json")] = "md",
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="file to write (default harvest-ID.EXT)")
    ] = None,
) -> None:
    """Write a meeting's harvest to a Markdown, CSV or JSON file."""
    if fmt not in HARVEST_FORMATS:
        _fail("--format must be md, csv or json", 2)
    settings = _settings()

    async def job(indaba: Any) -> str:
        from bot.engine.services.harvest import build_harvest, render_csv, render_json, render_text
        from storage.models import Community, Meeting

        async with indaba.sessions() as session:
            meeting = await session.get(Meeting, meeting_id)
            community = await session.get(Community, meeting.community_id) if meeting else None
            if meeting is None or community is None:
                raise Fatal(f"no meeting with id {meeting_id} (see 'indaba meeting list')")
            language = community.language
            harvest = await build_harvest(session, indaba.texts, community, meeting, language)
        if fmt == "csv":
            return render_csv(harvest)
        if fmt == "json":
            return render_json(harvest) + "\n"
        return render_text(indaba.texts, harvest, language) + "\n"

    content = _run(lambda: _with_app(settings, job))
    path = output or f"harvest-{meeting_id}.{fmt}"
    try:
        with open(path, "w", encoding="utf-8", newline="") as file:
            file.write(content)
    except OSError as error:
        _fail(f"cannot write {path}: {error.strerror}")
    typer.echo(f"harvest of meeting {meeting_id} written to {path}")


# -- status and outbox ----------------------------------------------------------------------


@app.command()
def status() -> None:
    """Communities, next timetable steps, outbox depth and dead messages."""
    settings = _settings()

    async def job(indaba: Any) -> str:
        from storage.models import OutboxMessage

        lines = [await indaba.describe()]
        async with indaba.sessions() as session:
            dead = (
                await session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.status.in_(["dead", "unreachable"]))
                    .order_by(OutboxMessage.id.desc())
                    .limit(20)
                )
            ).all()
        if dead:
            lines.append(
                "dead or unreachable messages (newest first; retry with 'indaba outbox retry'):"
            )
            lines.extend(
                f"  {row.id}\t{row.status}\t{row.platform}:{row.conversation_id}"
                f"\t{row.attempts} attempts\t{(row.last_error or '')[:80]}"
                for row in dead
            )
        return "\n".join(lines)

    typer.echo(_run(lambda: _with_app(settings, job)))


@outbox_app.command("retry")
def outbox_retry(
    message_id: Annotated[int | None, typer.Option("--id", help="one message")] = None,
    dead: Annotated[bool, typer.Option("--dead", help="every dead message")] = False,
) -> None:
    """Put dead (or unreachable) messages back in the queue."""
    if message_id is None and not dead:
        _fail("give --id N or --dead", 2)
    settings = _settings()

    async def job(indaba: Any) -> int:
        from storage.models import OutboxMessage

        statement = update(OutboxMessage).values(
            status="pending", attempts=0, next_attempt_at=indaba.clock.now(), lease_until=None
        )
        if message_id is not None:
            statement = statement.where(
                OutboxMessage.id == message_id,
                OutboxMessage.status.in_(["dead", "unreachable"]),
            )
        else:
            statement = statement.where(OutboxMessage.status == "dead")
        async with indaba.sessions() as session, session.begin():
            result = await session.execute(statement.returning(OutboxMessage.id))
            return len(result.all())

    typer.echo(f"{_run(lambda: _with_app(settings, job))} message(s) queued again")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
