"""Neutral markup and choices → WhatsApp message bodies."""

from __future__ import annotations

from adapters.whatsapp import render
from bot.markup import escape
from bot.messages import Address, Choice, ConversationKind, OutgoingMessage

DM = Address("whatsapp", ConversationKind.DM, "2348030000001")


def message(text: str, choices: tuple[Choice, ...] = ()) -> OutgoingMessage:
    return OutgoingMessage(address=DM, text=text, choices=choices)


def test_bold_heading_bullet_and_quote() -> None:
    text = render.render_text("# Brief\n**3 of 4** answered\n- Amina\n> a quote")
    assert text == "*Brief*\n*3 of 4* answered\n• Amina\n> a quote"


def test_member_text_cannot_inject_formatting() -> None:
    hostile = "*free* _money_ ~now~ ```code```"
    text = render.render_text(f"**Kwame:** {escape(hostile)}")
    assert text.startswith("*Kwame:*")
    body = text.removeprefix("*Kwame:*")
    for marker in "*_~`":
        assert f"{marker}\u200b" in body or marker not in body
    # Every marker is fenced by zero-width spaces, so none pairs up with another.
    assert body.replace("\u200b", "") == " " + hostile
    assert "*f" not in body and "_m" not in body and "~n" not in body


def test_three_choices_become_reply_buttons_with_numbered_lines() -> None:
    choices = (
        Choice("a", "Yes"),
        Choice("b", "No"),
        Choice("c", "A very long label that is clipped"),
    )
    rendered = render.render(message("Come?", choices))
    [body] = rendered.bodies
    interactive = body["interactive"]
    assert interactive["type"] == "button"
    titles = [b["reply"]["title"] for b in interactive["action"]["buttons"]]
    assert titles[:2] == ["Yes", "No"] and len(titles[2]) == 20
    assert interactive["body"]["text"].endswith(
        "1. Yes\n2. No\n3. A very long label that is clipped"
    )


def test_up_to_ten_choices_become_a_list() -> None:
    choices = tuple(Choice(f"c{i}", f"Agenda item number {i} with detail") for i in range(7))
    [body] = render.render(message("Vote", choices)).bodies
    rows = body["interactive"]["action"]["sections"][0]["rows"]
    assert body["interactive"]["type"] == "list" and len(rows) == 7
    assert all(len(r["title"]) <= 24 and len(r.get("description", "")) <= 72 for r in rows)
    assert "7. Agenda item number 6 with detail" in body["interactive"]["body"]["text"]


def test_more_than_ten_choices_are_paged() -> None:
    choices = tuple(Choice(f"c{i}", f"Item {i}") for i in range(23))
    rendered = render.render(message("Vote\n\n1. Item 0", choices))
    kinds = [b["type"] for b in rendered.bodies]
    assert kinds == ["text", "interactive", "interactive", "interactive"]
    assert rendered.primary == 1
    pages = [b["interactive"]["action"]["sections"][0]["rows"] for b in rendered.bodies[1:]]
    assert [len(p) for p in pages] == [10, 10, 3]


def test_long_body_with_buttons_goes_first_as_text() -> None:
    rendered = render.render(message("x" * 1500, (Choice("a", "Yes"), Choice("b", "No"))))
    assert [b["type"] for b in rendered.bodies] == ["text", "interactive"]
    assert rendered.primary == 1


def test_long_text_is_split_under_4096() -> None:
    rendered = render.render(message("\n".join(["line of text " * 20] * 40)))
    assert len(rendered.bodies) > 1
    assert all(len(b["text"]["body"]) <= 4096 for b in rendered.bodies)


def test_template() -> None:
    assert render.template("indaba_reopen", "en") == {
        "type": "template",
        "template": {"name": "indaba_reopen", "language": {"code": "en"}},
    }
