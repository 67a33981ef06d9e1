"""Themes across members' answers: quality against a labelled set, exact quotes, and the
text model that introductions and the wall share."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.engine.services.harvest import HarvestFormat, build_harvest, render_export
from bot.engine.services.text_model import TextModel, default
from bot.engine.services.themes import Answer, Theme, find_themes
from storage.models import Community, Introduction, Meeting, Reply
from tests.harness import Harness, to

FIXTURES = Path(__file__).parent / "fixtures" / "themes"


def labelled(language: str) -> tuple[list[Answer], dict[str, str]]:
    """The labelled answers of one language, each by its own member, and their topics."""
    data = yaml.safe_load((FIXTURES / f"{language}.yaml").read_text(encoding="utf-8"))
    answers, topic_of = [], {}
    for topic, texts in data.items():
        for text in texts:
            number = len(answers)
            answers.append(
                Answer(member=f"Member {number}", text=text, question=1 + number % 3,
                       member_id=number)
            )  # fmt: skip
            topic_of[text] = topic
    return answers, topic_of


def purity(themes: list[Theme], topic_of: dict[str, str]) -> float:
    placed = sum(t.size for t in themes)
    majority = sum(
        Counter(topic_of[a.text] for a in t.answers).most_common(1)[0][1] for t in themes
    )
    return majority / placed


@pytest.mark.parametrize("language", ["en", "fr"])
def test_labelled_set_is_large_enough(language: str) -> None:
    answers, topic_of = labelled(language)
    assert len(answers) >= 60 and len(set(topic_of.values())) >= 5


@pytest.mark.parametrize("language", ["en", "fr"])
def test_themes_match_the_topics_a_facilitator_would_see(language: str) -> None:
    answers, topic_of = labelled(language)
    themes = find_themes(default(), answers, language)
    assert purity(themes, topic_of) >= 0.8
    # Nearly every answer belongs to a theme, and there are about as many themes as topics.
    assert sum(t.size for t in themes) >= 0.9 * len(answers)
    assert 4 <= len(themes) <= 8
    # Each theme's label is its top terms, as members wrote them.
    for theme in themes:
        assert theme.label == " · ".join(theme.terms[:3])
        written = " ".join(a.text.lower() for a in theme.answers)
        assert all(part in written for term in theme.terms for part in term.split())


def test_the_water_theme_is_labelled_in_members_words() -> None:
    answers, topic_of = labelled("en")
    themes = find_themes(default(), answers, "en")
    water = max(themes, key=lambda t: sum(topic_of[a.text] == "water" for a in t.answers))
    assert {"boreholes", "water point"} & set(water.terms)


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_quote_is_a_stored_answer_with_its_author_and_question(language: str) -> None:
    answers, _ = labelled(language)
    stored = {(a.member, a.text, a.question) for a in answers}
    themes = find_themes(default(), answers, language)
    quoted = [q for t in themes for q in t.as_dict()["answers"]]
    assert quoted and all((q["member"], q["text"], q["question"]) in stored for q in quoted)
    assert len(quoted) == len({(q["member"], q["text"]) for q in quoted})  # each once


def test_themes_are_deterministic() -> None:
    answers, _ = labelled("fr")
    first = [t.as_dict() for t in find_themes(default(), answers, "fr")]
    assert first == [t.as_dict() for t in find_themes(default(), list(answers), "fr")]


def test_few_or_empty_answers_make_no_themes() -> None:
    assert find_themes(default(), [], "en") == []
    three = [Answer("A", "Boreholes", 1), Answer("B", "Boreholes again", 1), Answer("C", "x", 1)]
    assert find_themes(default(), three, "en") == []
    stop_words_only = [Answer(f"M{i}", "we are the ones", 1) for i in range(6)]
    assert find_themes(default(), stop_words_only, "en") == []


def test_anonymous_members_count_once_each() -> None:
    theme = Theme("x", ["x"], [Answer("A member", "a", 1), Answer("A member", "b", 1),
                               Answer("Amina", "c", 1, member_id=3), Answer("Amina", "d", 2, member_id=3)])  # fmt: skip
    assert theme.size == 4 and theme.members == 3


def test_stop_words_and_stems_come_from_data(tmp_path: Path) -> None:
    model = default()
    assert model.languages == ["en", "fr", "pt", "sw"]
    # Plurals and verb forms meet on one stem; stop words never make a keyword.
    assert model.keywords("I need help with the Budgets and open data") == {
        "budget",
        "open",
        "data",
    }
    assert model.keywords("Mapping boreholes") == model.keywords("borehole maps")
    assert model.keywords("J'ai besoin d'aide pour la cartographie des forages") == {
        "cartograph",
        "forag",
    }
    # Accents dropped on a phone still match.
    assert model.keywords("données ouvertes", "fr") == model.keywords("donnees ouvertes", "fr")
    # The language is the one whose stop words a text uses.
    assert model.language_of("Nous avons cartographié les points d'eau", "en") == "fr"
    assert model.language_of("We mapped the water points", "fr") == "en"
    # A translator changes the list without touching code.
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "stopwords").write_text("# comment\nboreholes\n", encoding="utf-8")
    assert TextModel(tmp_path).keywords("boreholes and maps") == {"and", "map"}


def test_shared_words_read_as_the_member_wrote_them() -> None:
    model = default()
    assert model.shared(
        "Mapping water points and boreholes", "borehole maps, water point data"
    ) == ["mapping water points", "boreholes"]
    assert model.shared("Funding", "Open contracting") == []


WATER = yaml.safe_load((FIXTURES / "en.yaml").read_text(encoding="utf-8"))["water"]
BUDGETS = yaml.safe_load((FIXTURES / "en.yaml").read_text(encoding="utf-8"))["budgets"]


async def answer_round(h: Harness, answers: dict[str, str]) -> None:
    for who, text in answers.items():
        await h.say(who, text)


async def test_brief_groups_answers_by_theme_and_connects_meetings(harness: Harness) -> None:
    h = harness
    members = ("amina", "kwame", "thandi", "chidi", "zainab", "musa", "lindiwe")
    await h.setup_community(members=members)
    async with h.indaba.sessions() as session:
        community = await session.scalar(select(Community))
        assert community is not None
        community.settings = {**community.settings, "quiet_meetings": 2}
        await session.commit()
    await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting", "#cop")
    await h.say("fatima", "/meeting add 2026-12-18 14:00 December meeting", "#cop")
    await h.say("zainab", "/anonymous on")
    # Budgets made it onto an agenda; water points never did.
    await h.say("fatima", "/agenda open", "#cop")
    await h.say("chidi", "/agenda add Open budget hearings", "#cop")

    await h.advance(days=11, hours=3)  # November's questions
    november = {
        "amina": WATER[0], "kwame": WATER[1], "thandi": WATER[6],
        "chidi": BUDGETS[0], "zainab": BUDGETS[3], "musa": BUDGETS[7],
    }  # fmt: skip
    await answer_round(h, november)
    await h.advance(days=28)  # December's questions
    december = {
        "kwame": WATER[9], "thandi": WATER[2], "amina": WATER[12],
        "chidi": BUDGETS[10], "zainab": BUDGETS[12], "musa": BUDGETS[4],
    }  # fmt: skip
    await answer_round(h, december)
    sent = await h.advance(days=6)  # the brief, a day before
    brief = to(sent, "fatima")[0]

    # One line says how the answers group; each theme quotes its answers exactly.
    assert "2 themes across the answers; the largest, **" in brief
    assert "· 3 members" in brief
    for who, text in december.items():
        shown = "A member" if who == "zainab" else who.capitalize()
        assert f"- {shown}: {text}" in brief
    assert "Zainab" not in brief
    # Across meetings: both themes recur, first raised in November.
    assert "**Themes that recur**" in brief
    assert "raised in November 2026 and December 2026, first by Amina" in brief
    # Water points were never on an agenda: offered as a proposal; budgets were.
    proposals = brief.split("**Raised but never on an agenda**")[1].split("**Quiet")[0]
    assert "water" in proposals and "budget" not in proposals
    # Lindiwe answered, proposed and voted nothing in two meetings.
    assert (
        "**Quiet voices** (no answer, proposal or vote in the last 2 meetings): Lindiwe." in brief
    )


async def test_harvest_shows_and_exports_the_themes(harness: Harness) -> None:
    h = harness
    members = ("amina", "kwame", "thandi", "chidi", "zainab", "musa")
    await h.setup_community(members=members)
    await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting", "#cop")
    await h.say("musa", "/anonymous on")
    await h.advance(days=11, hours=3)
    written = dict(zip(members, [*WATER[:3], *BUDGETS[:3]], strict=True))
    await answer_round(h, written)
    await h.advance(days=7)
    text = to(await h.say("fatima", "/harvest", "#cop"), "fatima")[0]
    assert "**Themes**" in text
    assert f"- Amina (question 1): {WATER[0]}" in text
    assert f"- A member (question 1): {BUDGETS[2]}" in text and "Musa" not in text

    async with h.indaba.sessions() as session:
        community = await session.scalar(select(Community))
        meeting = await session.scalar(select(Meeting))
        assert community is not None and meeting is not None
        harvest = await build_harvest(session, h.indaba.texts, community, meeting, "en")
        stored = set((await session.scalars(select(Reply.text))).all())
        exported = await render_export(session, h.indaba.texts, harvest, HarvestFormat.JSON, "en")
        as_csv = await render_export(session, h.indaba.texts, harvest, HarvestFormat.CSV, "en")
    data = json.loads(exported)
    for themes in (data["themes"], data["answers"][0]["themes"]):
        assert len(themes) == 2
        for theme in themes:
            assert set(theme) == {"label", "terms", "answers"}
            assert theme["label"] == " · ".join(theme["terms"][:3])
            for quote in theme["answers"]:
                assert set(quote) == {"member", "text", "question"}
                assert quote["text"] in stored and quote["question"] == 1
        quoted = [q["text"] for t in themes for q in t["answers"]]
        assert len(quoted) == len(set(quoted)) >= 5 and set(quoted) <= stored
    assert data["answers"][1]["themes"] == []
    rows = list(csv.reader(io.StringIO(as_csv.removeprefix("\ufeff"))))
    theme_rows = [r for r in rows if r[0] == "theme"]
    placed = {q["text"] for t in data["themes"] for q in t["answers"]}
    assert len(theme_rows) == len(placed) and {r[3] for r in theme_rows} == placed
    assert ["theme", data["themes"][0]["label"], data["themes"][0]["answers"][0]["member"],
            data["themes"][0]["answers"][0]["text"], "1"] in theme_rows  # fmt: skip


async def test_digest_names_the_weeks_themes_without_quoting_anyone(harness: Harness) -> None:
    h = harness
    members = ("amina", "kwame", "thandi", "chidi", "zainab", "musa")
    await h.setup_community(members=members)
    await h.say("fatima", "/meeting add 2026-11-20 14:00 November meeting", "#cop")
    await h.advance(days=11, hours=3)
    written = dict(zip(members, [*WATER[:3], *BUDGETS[:3]], strict=True))
    await answer_round(h, written)
    preview = to(await h.say("fatima", "/digest", "#cop"), "fatima")[0]
    line = next(x for x in preview.splitlines() if x.startswith("**This week's themes:**"))
    assert line.count(" members)") == 2 and "; " in line
    assert not any(text in preview for text in written.values())


async def test_introductions_say_why_in_the_members_words(harness: Harness) -> None:
    h = harness
    _, join = await h.create_community()
    await h.say("amina", f"/join {join}")
    await h.say("amina", "Mapping water points and boreholes")
    await h.say("amina", "Python training")
    await h.say("amina", "Funding")
    await h.say("kwame", f"/join {join}")
    await h.say("kwame", "Borehole maps, water point data")
    await h.say("kwame", "Grant writing")
    sent = await h.say("kwame", "Fundraising")
    # Passions meet on their stems (maps and mapping, points and point), and the offer
    # quotes the shared words as the member wrote them.
    why = "both care about mapping water points and boreholes."
    assert any(f"You and **Kwame** {why}" in t for t in to(sent, "amina"))
    assert any(f"You and **Amina** {why}" in t for t in to(sent, "kwame"))

    # A need meets a contribution: each side reads its own part.
    await h.say("thandi", f"/join {join}")
    await h.say("thandi", "Open contracting")
    await h.say("thandi", "Scraping procurement data")
    await h.say("thandi", "-")
    await h.say("chidi", f"/join {join}")
    await h.say("chidi", "Civic tech")
    await h.say("chidi", "-")
    sent = await h.say("chidi", "Getting procurement data out of the ministries")
    assert any(
        "**Thandi** can offer what you need: procurement data." in t for t in to(sent, "chidi")
    )
    assert any(
        "**Chidi** needs what you can offer: procurement data." in t for t in to(sent, "thandi")
    )
    async with h.indaba.sessions() as session:
        topics = (
            await session.scalars(select(Introduction.topics).order_by(Introduction.id))
        ).all()
    assert topics == ["mapping water points, boreholes", "procurement data"]
