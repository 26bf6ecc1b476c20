"""Load the MCP prompts from `prompts/*.md`: TOML front matter (between `+++` lines) and a body.

The front matter declares title, description and typed arguments (with `default`, `min`/`max` for
numbers, `pattern` and its `hint` for text); the body uses `{name}` placeholders. Arguments are
checked before rendering, so a wrong one is refused with what to send instead.
Keeping prompt text in markdown files lets people edit the nightly procedure without touching code.
"""

from __future__ import annotations

import inspect
import re
import tomllib
from dataclasses import dataclass
from importlib import resources as package_files
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver.prompts.base import Prompt
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from pydantic import Field

if TYPE_CHECKING:
    from .protocol import SelfImproverServer

_TYPES: dict[str, type] = {"int": int, "str": str, "bool": bool, "float": float}


@dataclass(frozen=True)
class PromptFile:
    name: str
    title: str
    description: str
    arguments: dict[str, dict[str, Any]]
    body: str

    def check(self, arguments: dict[str, str] | None) -> dict[str, str]:
        """The arguments as the prompt will use them, or an INVALID_PARAMS error that says what to send.

        Refused: an argument the prompt does not have, a missing required one, a number that does not
        read or is out of range, a value that does not match the argument's `pattern`.
        """
        given = dict(arguments or {})
        unknown = sorted(set(given) - set(self.arguments))
        if unknown:
            raise self._invalid(
                f"unknown argument {', '.join(map(repr, unknown))}; its arguments are "
                f"{', '.join(self.arguments) or 'none'}"
            )
        checked: dict[str, str] = {}
        for arg, spec in self.arguments.items():
            if str(given.get(arg, "")).strip() == "":  # some hosts send "" for an argument left empty
                if "default" not in spec:
                    raise self._invalid(f"{arg} is required: {spec.get('description', '').rstrip('.')}")
                continue
            checked[arg] = self._checked_value(arg, spec, str(given[arg]).strip())
        return checked

    def _checked_value(self, arg: str, spec: dict[str, Any], value: str) -> str:
        kind = spec.get("type", "str")
        if kind in ("int", "float"):
            try:
                number = int(value) if kind == "int" else float(value)
            except ValueError:
                raise self._invalid(
                    f"{arg} must be a {'whole ' if kind == 'int' else ''}number; got {value!r}"
                ) from None
            low, high = spec.get("min"), spec.get("max")
            if (low is not None and number < low) or (high is not None and number > high):
                raise self._invalid(f"{arg} must be between {low} and {high}; got {value}")
        pattern = spec.get("pattern")
        if pattern is not None:
            value = value.lower() if spec.get("lowercase") else value
            if not re.fullmatch(pattern, value):
                raise self._invalid(f"{arg} must be {spec.get('hint', f'like {pattern}')}; got {value!r}")
        return value

    def _invalid(self, problem: str) -> MCPError:
        return MCPError(INVALID_PARAMS, f"prompt {self.name}: {problem}")

    def render(self, **values: Any) -> str:
        return self.body.format(**values)

    def as_prompt(self) -> Prompt:
        def render(**values: Any) -> str:
            return self.render(**values)

        params = []
        for arg, spec in self.arguments.items():
            field = Field(description=spec.get("description"))
            annotation = Annotated[_TYPES[spec.get("type", "str")], field]  # type: ignore[valid-type]
            default = spec.get("default", inspect.Parameter.empty)
            params.append(
                inspect.Parameter(arg, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
            )
        render.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        render.__annotations__ = {p.name: p.annotation for p in params} | {"return": str}
        return Prompt.from_function(render, name=self.name, title=self.title, description=self.description)


def parse_prompt_file(name: str, text: str) -> PromptFile:
    if not text.startswith("+++"):
        raise ValueError(f"prompt {name}: missing +++ front matter")
    _, front, body = text.split("+++", 2)
    meta = tomllib.loads(front)
    return PromptFile(
        name=name,
        title=meta["title"],
        description=meta["description"],
        arguments=meta.get("arguments", {}),
        body=body.strip() + "\n",
    )


def load_prompt_files() -> list[PromptFile]:
    folder = package_files.files("self_improver.prompts")
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".md")), key=lambda p: p.name)
    return [parse_prompt_file(p.name.removesuffix(".md"), p.read_text(encoding="utf-8")) for p in files]


def register_prompts(server: SelfImproverServer) -> None:
    for prompt in load_prompt_files():
        server.add_prompt(prompt.as_prompt(), check=prompt.check)
