"""``indaba community``: communities, their codes and their settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from bot.app import admin
from bot.app.cli.common import fail, in_session, on_database, read_settings
from bot.app.cli.model_options import model_options, with_options
from bot.app.settings import Settings
from bot.engine.community_settings import CommunitySettings
from bot.engine.services.onboarding import CodeKind
from bot.engine.texts import Texts
from bot.runtime.clock import SystemClock

app = typer.Typer(no_args_is_help=True, help="Communities and their codes.")


def check_language(settings: Settings, language: str) -> str:
    """One of the languages of ``prompts/texts/``, or exit naming them."""
    texts = Texts(settings.prompts_dir)
    chosen = language.strip().lower()
    if chosen not in texts.languages:
        fail(f"--language must be one of {', '.join(texts.language_names())}", 2)
    return chosen


@app.command("create")
def community_create(
    name: str,
    timezone: Annotated[str, typer.Option("--timezone", "-t", help="e.g. Africa/Lagos")],
    language: Annotated[
        str,
        typer.Option("--language", "-l", help="default language: a folder of prompts/texts/"),
    ] = "en",
) -> None:
    """Create a community and print its one-time facilitator code."""
    settings = read_settings()
    language = check_language(settings, language)
    setup, join = on_database(
        settings,
        lambda sessions: admin.create_community(
            sessions,
            name,
            timezone,
            language,
            SystemClock().now(),
            setup_days=settings.setup_code_days,
            join_days=settings.join_code_days,
        ),
    )
    typer.echo(f"Community {name!r} created ({timezone}).")
    typer.echo(f"Facilitator code (works once, {settings.setup_code_days} days): {setup}")
    typer.echo(
        f"  type /setup {setup} in the community's group to link it and become its facilitator"
    )
    typer.echo(f"Member join code ({settings.join_code_days} days): {join}")
    typer.echo(f"  members send /join {join} to the bot in a direct message")


@app.command("list")
def community_list() -> None:
    """List communities with their member counts."""
    found = in_session(read_settings(), admin.communities)
    for community, members in found:
        typer.echo(
            f"{community.id}\t{community.name}\t{community.timezone}\t{community.language}"
            f"\t{members} members"
        )
    if not found:
        typer.echo("no communities yet")


@app.command("code")
def community_code(
    name: str,
    kind: Annotated[
        str, typer.Option(help="setup (one facilitator, once) or join (members)")
    ] = "join",
) -> None:
    """Issue a new facilitator (setup) or member (join) code; a new join code replaces the old."""
    settings = read_settings()
    if kind not in ("setup", "join"):
        fail("--kind must be setup or join", 2)
    days = settings.setup_code_days if kind == "setup" else settings.join_code_days
    code = on_database(
        settings,
        lambda sessions: admin.issue_code(
            sessions, name, CodeKind(kind), SystemClock().now(), timedelta(days=days)
        ),
    )
    typer.echo(code)


def settings_flag(field: str) -> str:
    """A setting's option: ``questions_days_before`` is ``--questions-days``."""
    return field.removesuffix("_before")


@app.command("configure")
@with_options(model_options(CommunitySettings, settings_flag))
def community_configure(
    name: str,
    language: Annotated[
        str | None, typer.Option(help="default language: a folder of prompts/texts/")
    ] = None,
    **changes: Any,
) -> None:
    """Change a community's timetable offsets and defaults."""
    settings = read_settings()
    if language is not None:
        language = check_language(settings, language)
    given = {field: value for field, value in changes.items() if value is not None}
    try:
        checked = on_database(
            settings,
            lambda sessions: admin.configure_community(sessions, name, given, language),
        )
    except ValidationError as error:
        fail("; ".join(f"{flag_of(str(e['loc'][0]))}: {e['msg']}" for e in error.errors()))
    except admin.SettingsOrder as error:
        fail(
            "not changed: " + "; ".join(f"{flag_of(field)}: {why}" for field, why in error.problems)
        )
    typer.echo(summary(name, checked, set(given) | ({"language"} if language else set())))
    if language:
        typer.echo(f"  --language {language}  (changed)")


def flag_of(field: str) -> str:
    return "--" + settings_flag(field).replace("_", "-")


def shown_value(value: Any) -> str:
    """A setting's value as typed on the command line (on/off, a list of languages)."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, dict):
        return ", ".join(sorted(value)) if value else "none"
    if value == "":
        return "off"
    return str(value)


def summary(name: str, checked: CommunitySettings, changed: set[str]) -> str:
    """The community's settings, one a line under the option that changes it."""
    fields = list(CommunitySettings.model_fields)
    width = max(len(flag_of(field)) for field in fields)
    lines = [f"Settings of {name}:"]
    for field in fields:
        mark = "  (changed)" if field in changed else ""
        value = shown_value(getattr(checked, field))
        lines.append(f"  {flag_of(field):<{width}}  {value}{mark}")
    return "\n".join(lines)
