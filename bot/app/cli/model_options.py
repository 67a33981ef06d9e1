"""Command-line options made from the fields of a pydantic model, one option per field.

An option takes its field's type (a whole number, a text, an on/off flag) and its help
from the field's description, or else from its name, range and default. Every option
defaults to None, so a command can tell the fields given from those left alone.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel

F = TypeVar("F", bound=Callable[..., Any])

# The type a field's option parses, by the field's JSON schema type. Anything else is
# read as text and checked by the model, so a wrong value (an unknown choice too) is
# reported like any other bad setting.
_KINDS: dict[str, Any] = {"integer": int | None, "number": float | None}


def model_options(
    model: type[BaseModel], flag: Callable[[str], str] = lambda name: name
) -> list[inspect.Parameter]:
    """One keyword parameter per field of ``model``, named as the field.

    Args:
        model: the model whose fields become options.
        flag: the option's name (words joined by ``_``, without ``--``) for a field name.
    """
    properties: Mapping[str, Mapping[str, Any]] = model.model_json_schema()["properties"]
    parameters = []
    seen: set[str] = set()
    for name, field in model.model_fields.items():
        option = "--" + flag(name).replace("_", "-")
        assert option not in seen, f"two fields of {model.__name__} would be {option}"
        seen.add(option)
        schema = properties[name]
        kind = _KINDS.get(schema.get("type", ""), str | None)
        declaration = option
        if schema.get("type") == "boolean":
            kind, declaration = bool | None, f"{option}/--no-{option[2:]}"
        help_text = field.description or readable_help(name, schema)
        parameters.append(
            inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=None,
                annotation=Annotated[kind, typer.Option(declaration, help=help_text)],
            )
        )
    return parameters


def readable_help(name: str, schema: Mapping[str, Any]) -> str:
    """``questions days before the meeting, 1 to 60 (default 7)`` and the like."""
    words = name.replace("_", " ")
    if words.endswith(" days before"):
        words += " the meeting"
    if "enum" in schema:
        words += ": " + " or ".join(str(choice) for choice in schema["enum"])
    elif "minimum" in schema and "maximum" in schema:
        words += f", {schema['minimum']} to {schema['maximum']}"
    default = schema.get("default")
    if isinstance(default, bool):
        default = "on" if default else "off"
    return words if default is None else f"{words} (default {default})"


def with_options(options: Sequence[inspect.Parameter]) -> Callable[[F], F]:
    """Give a command that takes ``**values`` the ``options`` in place of ``**values``.

    typer reads a command's options from its signature and calls it with one keyword
    argument per option: the generated ones all land in ``values``.
    """

    def decorate(command: F) -> F:
        signature = inspect.signature(command, eval_str=True)
        kept = [
            parameter
            for parameter in signature.parameters.values()
            if parameter.kind is not inspect.Parameter.VAR_KEYWORD
        ]
        clashes = {parameter.name for parameter in kept} & {option.name for option in options}
        assert not clashes, f"{command.__name__} has options of its own named {sorted(clashes)}"
        command.__signature__ = signature.replace(  # type: ignore[attr-defined]
            parameters=[*kept, *options]
        )
        return command

    return decorate
