"""``indaba member``: answer a member's request received elsewhere (by mail, by phone):
export what Indaba holds about them, or erase it.

A member is named by a platform account (``--platform whatsapp --user +254700000001``)
or by their name in a community (``--community "Lagos Civic Tech" --name Amina``); either
way the whole person is found, with their linked platforms and other communities, and
each command says which communities' data it reads before it acts.
"""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app.admin import AdminError
from bot.app.cli.common import on_database, read_settings
from bot.engine.services import onboarding, privacy
from bot.engine.texts import Texts
from bot.runtime.clock import SystemClock
from storage.models import Community, Member

app = typer.Typer(no_args_is_help=True, help="A member's data: export or erase it.")

Platform = Annotated[str | None, typer.Option("--platform", help="slack, telegram or whatsapp")]
User = Annotated[
    str | None, typer.Option("--user", help="the platform's user id (WhatsApp: the number)")
]
CommunityOption = Annotated[str | None, typer.Option("--community", "-c", help="community name")]
Name = Annotated[str | None, typer.Option("--name", help="the member's name in --community")]


async def _find(
    session: AsyncSession,
    texts: Texts,
    platform: str | None,
    user: str | None,
    community: str | None,
    name: str | None,
) -> privacy.Person:
    if platform and user:
        person = await privacy.person_of(session, accounts=[(platform, user)])
    elif community and name:
        found = await onboarding.find_community(session, community)
        if found is None:
            raise AdminError(f"no community named {community!r}")
        members = (
            await session.scalars(
                select(Member).where(
                    Member.community_id == found.id,
                    Member.display_name == name,
                    Member.role != privacy.FORMER_ROLE,
                )
            )
        ).all()
        if len(members) > 1:
            raise AdminError(
                f"{len(members)} members are called {name!r} in {found.name}: "
                "name one by --platform and --user"
            )
        person = await privacy.person_of(session, member_ids=[m.id for m in members])
    else:
        raise AdminError("name the member by --platform and --user, or --community and --name")
    data = await privacy.export(session, texts, person, SystemClock().now())
    if not any(privacy.counts(data).values()):
        raise AdminError("Indaba holds nothing about this member")
    return person


async def _reads(session: AsyncSession, person: privacy.Person) -> str:
    names = (
        await session.scalars(
            select(Community.name)
            .join(Member, Member.community_id == Community.id)
            .where(Member.id.in_(person.member_ids))
            .order_by(Community.name)
        )
    ).all()
    return ", ".join(names) or "no community"


@app.command("export")
def member_export(
    platform: Platform = None,
    user: User = None,
    community: CommunityOption = None,
    name: Name = None,
    output: Annotated[
        str, typer.Option("--output", "-o", help="file to write")
    ] = "indaba-member-data.json",
) -> None:
    """Write everything Indaba holds about a member to a JSON file (what /mydata sends)."""
    settings = read_settings()
    texts = Texts(settings.prompts_dir)

    async def job(sessions: async_sessionmaker[AsyncSession]) -> tuple[str, str]:
        async with sessions() as session:
            person = await _find(session, texts, platform, user, community, name)
            reads = await _reads(session, person)
            data = await privacy.export(session, texts, person, SystemClock().now())
            return reads, privacy.export_json(data)

    reads, content = on_database(settings, job)
    typer.echo(f"reads the data of: {reads}")
    with open(output, "w", encoding="utf-8") as file:
        file.write(content)
    typer.echo(f"written to {output}")


@app.command("forget")
def member_forget(
    platform: Platform = None,
    user: User = None,
    community: CommunityOption = None,
    name: Name = None,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for a confirmation")] = False,
) -> None:
    """Erase a member everywhere, as /forget does: on every platform and in every community."""
    settings = read_settings()
    texts = Texts(settings.prompts_dir)

    async def look(sessions: async_sessionmaker[AsyncSession]) -> str:
        async with sessions() as session:
            return await _reads(
                session, await _find(session, texts, platform, user, community, name)
            )

    typer.echo(f"reads the data of: {on_database(settings, look)}")
    if not yes:
        typer.confirm("Erase this member's data everywhere? This cannot be undone", abort=True)

    async def job(sessions: async_sessionmaker[AsyncSession]) -> str:
        async with sessions() as session, session.begin():
            person = await _find(session, texts, platform, user, community, name)
            done = await privacy.erase(session, texts, person, SystemClock().now())
            return done.describe()

    typer.echo(on_database(settings, job))
