"""The texts adapters show by themselves (a Slack form's labels), in the member's language:
:class:`bot.adapter.TextSource` over the engine's texts and the members' settings."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.engine.texts import Texts
from storage.models import Community, Identity, Member


class AdapterTexts:
    def __init__(self, texts: Texts, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._texts = texts
        self._sessions = sessions

    def render(self, key: str, language: str, /, **values: object) -> str:
        return self._texts.render(key, language, **values)

    async def language_of(self, platform: str, user_id: str) -> str:
        """The member's own language, else their community's, for their latest account."""
        async with self._sessions() as session:
            found = await session.scalar(
                select(func.coalesce(Member.language, Community.language))
                .select_from(Identity)
                .join(Member, Member.id == Identity.member_id)
                .join(Community, Community.id == Identity.community_id)
                .where(Identity.platform == platform, Identity.user_id == user_id)
                .order_by(Identity.id.desc())
                .limit(1)
            )
        language = str(found or "en")
        return language if language in self._texts.languages else "en"
