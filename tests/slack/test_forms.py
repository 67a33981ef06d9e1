"""Modals for forms: ``/indaba agenda add`` and ``/indaba meeting add`` without arguments
open a modal (``views.open`` within the trigger's three seconds); the submission is
checked and a wrong field is shown inline (``response_action: errors``); a right one
becomes the same command, answered where the command was typed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from adapters.slack.normalise import AGENDA_FORM, ANSWER_FORM, MEETING_FORM
from adapters.slack.render import form_view
from bot.engine.texts import Texts
from storage.models import AgendaItem, Meeting
from tests.fakes.slack_api import TEAM_ID
from tests.slack.conftest import CHANNEL, Workspace
from tests.slack.test_answers import replies
from tests.slack.test_month import AMINA, FATIMA, setup_cop
from tests.test_languages import PROMPTS


def submission(user: str, view: dict[str, Any], values: dict[str, dict[str, Any]]) -> dict:  # type: ignore[type-arg]
    """A ``view_submission`` as Slack posts it: each input block's element state."""
    state = {
        block["block_id"]: {block["element"]["action_id"]: values.get(block["block_id"], {})}
        for block in view["blocks"]
        if block["type"] == "input"
    }
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID},
        "user": {"id": user, "team_id": TEAM_ID},
        "api_app_id": "A0APP",
        "trigger_id": "t.submit",
        "view": {**view, "state": {"values": state}},
    }


async def test_agenda_add_opens_a_form_checked_inline(workspace: Workspace) -> None:
    ws, fake = workspace, workspace.fake
    await setup_cop(ws)
    await ws.h.advance(days=4, hours=3)  # proposals open
    fake.posted.clear()
    response = await ws.command(AMINA, "/indaba agenda add")
    assert response.status_code == 200 and response.text == ""
    [opened] = fake.calls("views.open", ok=True)
    [view] = fake.views
    assert view["callback_id"] == "indaba_agenda_add"
    assert [b["block_id"] for b in view["blocks"]] == ["title", "detail"]
    assert view["blocks"][0]["element"]["max_length"] == 200
    # Empty title: the modal shows the error under the field; nothing is proposed.
    empty = await ws.interact(submission(AMINA, view, {"title": {"value": "  "}}))
    assert empty.json() == {
        "response_action": "errors",
        "errors": {"title": "Please fill this in."},
    }
    long = await ws.interact(
        submission(AMINA, view, {"title": {"value": "x" * 201}, "detail": {"value": "y"}})
    )
    assert long.json()["errors"] == {"title": "At most 200 characters."}
    # A right one closes the modal (empty 200) and is the same /agenda add.
    done = await ws.interact(
        submission(
            AMINA,
            view,
            {"title": {"value": "Open data portals"}, "detail": {"value": "Lagos & Accra"}},
        )
    )
    assert done.status_code == 200 and done.text == ""
    async with ws.h.indaba.sessions() as session:
        [item] = (await session.scalars(select(AgendaItem))).all()
    assert (item.title, item.detail) == ("Open data portals", "Lagos & Accra")
    # Answered where the command was typed, through its response_url.
    assert replies(fake, CHANNEL, AMINA) == ["Added as item 1: Open data portals. Thank you!"]
    assert opened.params["trigger_id"]


async def test_meeting_add_form(workspace: Workspace) -> None:
    ws, fake = workspace, workspace.fake
    await setup_cop(ws)
    await ws.command(FATIMA, "/indaba meeting add")
    view = fake.views[-1]
    assert view["callback_id"] == "indaba_meeting_add"
    assert [b["element"]["type"] for b in view["blocks"]] == [
        "datepicker",
        "timepicker",
        "radio_buttons",
        "plain_text_input",
    ]
    wrong = await ws.interact(
        submission(FATIMA, view, {"time": {"selected_time": "25:00"}, "title": {"value": "W"}})
    )
    assert wrong.json()["errors"] == {"date": "Pick a date.", "time": "Pick a time (HH:MM)."}
    fine = await ws.interact(
        submission(
            FATIMA,
            view,
            {
                "date": {"selected_date": "2026-12-10"},
                "time": {"selected_time": "10:00"},
                "kind": {"selected_option": {"value": "workshop"}},
                "title": {"value": "December workshop"},
            },
        )
    )
    assert fine.status_code == 200
    async with ws.h.indaba.sessions() as session:
        titles = (await session.scalars(select(Meeting.title).order_by(Meeting.id))).all()
        kind = await session.scalar(
            select(Meeting.kind).where(Meeting.title == "December workshop")
        )
    assert titles == ["November meeting", "December workshop"] and kind == "workshop"
    assert "*December workshop*" in fake.in_channel(CHANNEL)[-1].text


async def test_a_trigger_used_late_is_refused_by_slack(workspace: Workspace) -> None:
    ws, fake = workspace, workspace.fake
    await setup_cop(ws)
    form = ws.command_form(AMINA, "/indaba agenda add")
    fake.clock_offset += 4  # Slack's three seconds are over
    from urllib.parse import urlencode

    await ws.post(urlencode(form).encode(), "application/x-www-form-urlencoded")
    assert [c.error for c in fake.calls("views.open")] == ["expired_trigger_id"]
    assert fake.views == []


async def test_a_form_speaks_the_members_language(workspace: Workspace) -> None:
    ws, fake = workspace, workspace.fake
    await setup_cop(ws)
    await ws.h.advance(days=4, hours=3)  # proposals open
    await ws.command(AMINA, "/indaba lang fr")
    await ws.command(AMINA, "/indaba agenda add")
    view = fake.views[-1]
    assert view["title"]["text"] == "Proposer un point"
    assert (view["submit"]["text"], view["close"]["text"]) == ("Proposer", "Annuler")
    title, detail = view["blocks"]
    assert (title["label"]["text"], detail["label"]["text"]) == ("Titre", "Détails")
    assert title["element"]["placeholder"]["text"] == "De quoi la réunion devrait-elle parler ?"
    wrong = await ws.interact(submission(AMINA, view, {"title": {"value": "x" * 201}}))
    assert wrong.json()["errors"] == {"title": "200 caractères au plus."}
    # Fatima keeps English; her meeting form is in English.
    await ws.command(FATIMA, "/indaba meeting add")
    meeting = fake.views[-1]
    assert meeting["title"]["text"] == "Plan a meeting"
    assert [b["label"]["text"] for b in meeting["blocks"]] == [
        "Date",
        "Time (community time)",
        "Kind",
        "Title",
    ]
    empty = await ws.interact(submission(FATIMA, meeting, {}))
    assert empty.json()["errors"]["title"] == "Please fill this in."


@pytest.mark.parametrize("language", ["en", "fr", "pt", "sw"])
def test_every_forms_words_fit_slack_in_every_language(language: str) -> None:
    texts = Texts(PROMPTS)

    def say(key: str, **values: object) -> str:
        return texts.render(key, language, **values)

    for form in (AGENDA_FORM, MEETING_FORM, ANSWER_FORM):
        view = form_view(form, {"number": "12"}, say)
        # Within Slack's limits as written, not cut to fit.
        assert view["title"]["text"] == say(f"slack.form.{form.split('_')[1]}.title", number="12")
        assert len(view["title"]["text"]) <= 24
        assert len(view["submit"]["text"]) <= 24 and len(view["close"]["text"]) <= 24
        assert all(not b["label"]["text"].startswith("slack.") for b in view["blocks"])
