"""README and ``indaba --help`` agree: README names every command of the command line
(as ``indaba GROUP COMMAND``), and every ``indaba ...`` it names exists."""

from __future__ import annotations

import re
from pathlib import Path

import typer
from typer.core import TyperGroup

from bot.app.cli import app

README = Path(__file__).resolve().parent.parent / "README.md"
# "indaba community create" in prose, code and tables; not "/indaba" (Slack's command)
# nor a container named indaba ("docker exec -it indaba indaba ...").
# A command may wrap onto the next line ("`indaba db\nupgrade`").
MENTION = re.compile(r"(?<![/\w-])indaba( [a-z][a-z-]*(?:[ \n][a-z][a-z-]*)*)")


def commands(group: TyperGroup, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], bool]:
    """Every command path, True for groups (which take a subcommand)."""
    found: dict[tuple[str, ...], bool] = {}
    for name, command in group.commands.items():
        if command.hidden:
            continue
        path = (*prefix, name)
        found[path] = isinstance(command, TyperGroup)
        if isinstance(command, TyperGroup):
            found.update(commands(command, path))
    return found


def tree() -> dict[tuple[str, ...], bool]:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    return commands(root)


def test_readme_names_every_command() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [
        " ".join(path)
        for path, is_group in tree().items()
        if not is_group and f"indaba {' '.join(path)}" not in text
    ]
    assert missing == [], f"README does not mention: {', '.join(missing)}"


def test_every_command_readme_names_exists() -> None:
    known = tree()
    wrong = set()
    for match in MENTION.finditer(README.read_text(encoding="utf-8")):
        words = match.group(1).split()
        if words[0] == "indaba":
            continue
        path: tuple[str, ...] = ()
        for word in words:
            if path and not known.get(path, False):
                break  # a command's arguments follow
            if (*path, word) not in known:
                wrong.add(" ".join((*path, word)))
                break
            path = (*path, word)
        if path and known.get(path, False) and path == tuple(words):
            wrong.add(" ".join(path) + " (a group, without its command)")
    assert wrong == set(), f"README names commands that do not exist: {sorted(wrong)}"
