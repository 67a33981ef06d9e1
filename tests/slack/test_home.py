"""The App Home tab: published (views.publish) when a member opens it, with the next
meeting, their open questions with an Answer button (a modal), their wall entry and the
ballot; a facilitator's page adds the brief's figures and buttons for the harvest and for
closing the agenda, which run those commands."""

from __future__ import annotations

from typing import Any

from tests.fakes.slack_api import TEAM_ID
from tests.slack.conftest import CHANNEL, Workspace
from tests.slack.test_forms import submission
from tests.slack.test_month import AMINA, FATIMA, KWAME, THANDI, answers, setup_cop


async def open_home(ws: Workspace, user: str) -> dict[str, Any]:
    response = await ws.event(
        {"type": "app_home_opened", "user": user, "tab": "home", "event_ts": ws.next_ts()}
    )
    assert response.status_code == 200
    return ws.fake.homes[user]


def shown(view: dict[str, Any]) -> str:
    return "\n".join(
        str((b.get("text") or {}).get("text", "")) for b in view["blocks"] if b["type"] != "actions"
    )


def buttons(view: dict[str, Any]) -> dict[str, str]:
    return {
        e["text"]["text"]: e["value"]
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    }


def home_press(user: str, view: dict[str, Any], value: str, trigger: str) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user, "team_id": TEAM_ID},
        "team": {"id": TEAM_ID},
        "container": {"type": "view", "view_id": view["id"]},
        "view": view,
        "trigger_id": trigger,
        "actions": [
            {
                "type": "button",
                "action_id": "indaba_choice:0",
                "value": value,
                "action_ts": "1796000001.000002",
            }
        ],
    }


async def test_a_members_home_tab(workspace: Workspace) -> None:
    ws, fake = workspace, workspace.fake
    await setup_cop(ws)
    await ws.h.advance(days=11, hours=3)  # the questions went out, the ballot is open
    view = await open_home(ws, AMINA)
    assert view["type"] == "home" and fake.calls("views.publish", ok=True)
    text = shown(view)
    assert "Hello Amina!" in text and "*November meeting*" in text
    assert "1. " in text and "Your wall entry" in text
    assert "Answer 1" in buttons(view) and "Harvest" not in buttons(view)
    # The Answer button opens a modal; its submission is /answer 1 TEXT.
    await ws.interact(home_press(AMINA, view, buttons(view)["Answer 1"], fake.trigger()))
    form = fake.views[-1]
    assert form["callback_id"] == "indaba_answer"
    await ws.interact(submission(AMINA, form, {"answer": {"value": "From the Home tab"}}))
    assert ("Amina", "From the Home tab") in await answers(ws)
    # Opened again: the question answered is no longer open.
    again = await open_home(ws, AMINA)
    assert "Answer 1" not in buttons(again)


async def test_a_facilitators_home_tab_runs_their_commands(workspace: Workspace) -> None:
    ws, fake = workspace, workspace.fake
    await setup_cop(ws)
    await ws.h.advance(days=11, hours=3)
    view = await open_home(ws, FATIMA)
    assert "For facilitators" in shown(view)
    assert "0 of 3 members asked have answered" in shown(view)
    assert {"Harvest", "Brief"} <= set(buttons(view))
    fake.posted.clear()
    await ws.interact(home_press(FATIMA, view, buttons(view)["Brief"], fake.trigger()))
    assert fake.to_user(FATIMA), "the brief comes as a DM"


async def test_the_home_tab_follows_what_it_shows(workspace: Workspace) -> None:
    ws, fake = workspace, workspace.fake
    await setup_cop(ws)
    # Thandi joined the channel: her Home tab was published without her opening it.
    assert "Hello Thandi!" in shown(fake.homes[THANDI])
    await ws.h.advance(days=4, hours=3)  # proposals open
    await ws.command(KWAME, "/indaba agenda add Procurement monitoring")
    await ws.h.advance(days=7)  # the questions went out, the ballot is open
    await open_home(ws, AMINA)
    published = len(fake.calls("views.publish", ok=True))
    # She answers the first question in her DM: the page drops it.
    await ws.dm(AMINA, "Our ward maps every borehole")
    assert "Answer 1" not in buttons(fake.homes[AMINA]) and "Answer 2" in buttons(fake.homes[AMINA])
    # She votes with the channel's ballot: the page counts her vote.
    [ballot] = [p for p in fake.in_channel(CHANNEL) if "Vote on the agenda" in p.text]
    [actions] = [b for b in ballot.blocks if b["type"] == "actions"]
    first = actions["elements"][0]
    await ws.press(AMINA, ballot.ts, first["value"], CHANNEL)
    assert f"{first['text']['text']} · 1 vote" in shown(fake.homes[AMINA])
    # She changes her language: the page follows.
    await ws.command(AMINA, "/indaba lang fr")
    assert "Bonjour Amina" in shown(fake.homes[AMINA])
    assert len(fake.calls("views.publish", ok=True)) == published + 3
    # What does not change the page publishes nothing: a chat in the channel, a
    # command whose answer leaves the page as it was.
    await ws.say_in_channel(AMINA, "See you all on Friday")
    await ws.command(AMINA, "/indaba wall")
    assert len(fake.calls("views.publish", ok=True)) == published + 3
    # Kwame never opened his: his answers publish nothing for him.
    await ws.dm(KWAME, "We trained 40 clerks")
    assert KWAME not in fake.homes
