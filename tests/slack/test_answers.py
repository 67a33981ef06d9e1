"""Answers anywhere: one ``/indaba`` command with subcommands (a direct ``/agenda`` still
works), answers through the command's ``response_url`` (ephemeral by default,
``in_channel`` for everyone) wherever it was typed — a private channel or one without
the bot — and a DM once the ``response_url`` is used up or expired."""

from __future__ import annotations

from bot.messages import Address, ConversationKind, OutgoingMessage
from tests.fakes.slack_api import FakeSlack
from tests.slack.conftest import CHANNEL, Workspace
from tests.slack.test_delivery import put
from tests.slack.test_month import AMINA, FATIMA, setup_cop

PRIVATE = "G0PRIVATE"  # a private channel Indaba was never invited to


def replies(fake: FakeSlack, channel: str, user: str | None = None) -> list[str]:
    return [
        p.text
        for p in fake.in_channel(channel)
        if p.via == "response_url" and (user is None or p.ephemeral_to == user)
    ]


async def test_indaba_subcommands_and_a_direct_command(workspace: Workspace) -> None:
    ws, fake = workspace, workspace.fake
    await setup_cop(ws)
    await ws.h.advance(days=4, hours=3)  # proposals open
    fake.posted.clear()
    await ws.command(AMINA, "/indaba agenda add Open data portals")
    await ws.command(AMINA, "/agenda add Budget literacy", direct=True)
    assert replies(fake, CHANNEL, AMINA) == [
        "Added as item 1: Open data portals. Thank you!",
        "Added as item 2: Budget literacy. Thank you!",
    ]
    # /indaba alone is /indaba help, in Slack's form.
    fake.posted.clear()
    await ws.command(AMINA, "/indaba")
    [shown] = replies(fake, CHANNEL, AMINA)
    assert "/indaba agenda" in shown and "/indaba help" in shown
    assert "/agenda " not in shown.replace("/indaba agenda", "")
    # An unknown subcommand gets a suggestion in Slack's form.
    fake.posted.clear()
    await ws.command(AMINA, "/indaba agnda")
    assert "Did you mean /indaba agenda?" in replies(fake, CHANNEL, AMINA)[0]


async def test_a_command_where_the_bot_is_not_a_member_is_answered(workspace: Workspace) -> None:
    ws, fake = workspace, workspace.fake
    await setup_cop(ws)
    fake.posted.clear()
    response = await ws.command(AMINA, "/indaba wall", channel=PRIVATE)
    assert response.status_code == 200
    [answer] = [p for p in fake.in_channel(PRIVATE)]
    assert answer.via == "response_url" and answer.ephemeral_to == AMINA
    assert not fake.calls("chat.postEphemeral")
    # What the old chat.postEphemeral would have met there:
    assert fake._check_channel(PRIVATE) == "channel_not_found"


async def test_an_answer_for_everyone_goes_in_channel(workspace: Workspace) -> None:
    ws, fake = workspace, workspace.fake
    setup, _ = await ws.h.create_community()
    await ws.command(FATIMA, f"/indaba setup {setup}", channel=PRIVATE)
    [linked] = [p for p in fake.in_channel(PRIVATE)]
    assert "now linked to *Lagos Civic Tech*" in linked.text
    assert linked.via == "response_url" and linked.ephemeral_to is None  # in_channel


async def test_past_the_response_url_limits_answers_come_as_a_dm(workspace: Workspace) -> None:
    ws, fake = workspace, workspace.fake
    await setup_cop(ws)
    fake.posted.clear()
    await ws.command(AMINA, "/indaba wall", channel=PRIVATE)  # use 1 of 5
    private = Address("slack", ConversationKind.GROUP, PRIVATE, ephemeral_to=AMINA)
    await put(ws.h, *(OutgoingMessage(private, f"follow-up {i}") for i in range(5)))
    await ws.h.settle()
    assert replies(fake, PRIVATE, AMINA)[1:] == [f"follow-up {i}" for i in range(4)]
    # The sixth answer: Slack allows five posts to a response_url; it comes as a DM.
    assert [p.text for p in fake.to_user(AMINA)][-1] == "follow-up 4"
    assert not fake.calls("response_url", ok=False)
    # Thirty minutes on, a new command's URL has expired by the time it is used.
    await ws.command(AMINA, "/indaba wall", channel=PRIVATE)
    fake.clock_offset += 31 * 60
    await put(ws.h, OutgoingMessage(private, "much later"), prefix="late")
    await ws.h.settle()
    assert [c.error for c in fake.calls("response_url", ok=False)] == ["expired_url"]
    assert [p.text for p in fake.to_user(AMINA)][-1] == "much later"


async def test_a_command_in_a_dm_between_people_is_answered_there(workspace: Workspace) -> None:
    ws, fake = workspace, workspace.fake
    await setup_cop(ws)
    between = "D0AMINAKWAME"  # Amina's DM with Kwame: Indaba is not in it
    fake.posted.clear()
    await ws.command(AMINA, "/indaba wall", channel=between)
    [answer] = fake.in_channel(between)
    assert answer.via == "response_url" and answer.ephemeral_to == AMINA
    assert "wall" in answer.text.lower()
    assert fake.to_user(AMINA) == [] and not fake.calls("chat.postMessage", to=between)
    # What cannot be shown there (a file) goes to Indaba's DM, and a note says so.
    fake.posted.clear()
    await ws.command(AMINA, "/indaba mydata", channel=between)
    [shared] = fake.files[-1:]
    assert shared.channel == fake.dm_channel(AMINA) and shared.filename.endswith(".json")
    [note] = fake.in_channel(between)
    assert note.ephemeral_to == AMINA
    assert "direct messages with Indaba" in note.text
    # Typed in Indaba's own DM, the answer is a message there, not an ephemeral one.
    fake.posted.clear()
    await ws.command(AMINA, "/indaba wall", channel=fake.dm_channel(AMINA))
    [own] = fake.to_user(AMINA)
    assert own.via == "api" and own.ephemeral_to is None


async def test_a_command_that_sets_off_questions_is_answered_in_indabas_dm(
    workspace: Workspace,
) -> None:
    ws, fake = workspace, workspace.fake
    await setup_cop(ws)
    await ws.h.advance(days=11, hours=3)  # the questions went out
    between = "D0AMINAKWAME"
    fake.posted.clear()
    await ws.command(AMINA, "/indaba answer 1 Ward maps of every borehole", channel=between)
    # The next question follows the answer: both are in Indaba's DM, where she answers;
    # nothing is shown where she typed it, where Indaba would not see a reply.
    assert fake.in_channel(between) == []
    mine = [p.text for p in fake.to_user(AMINA)]
    assert any("Saved as your answer to question 1" in t for t in mine)
    assert any("*Question 2 of 3*" in t for t in mine)
