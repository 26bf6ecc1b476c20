"""Load the MCP prompts from `prompts/*.md`: TOML front matter (between `+++` lines) and a body.

The front matter declares title, description and typed arguments (with `default`, `min`/`max` for
numbers, `pattern` and its `hint` for text); the body uses `{name}` placeholders. Arguments are
checked before rendering, so a wrong one is refused with what to send instead.
Keeping prompt text in markdown files lets people edit the nightly procedure without touching code.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources as package_files
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver.prompts.base import Prompt, PromptArgument
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

if TYPE_CHECKING:
    from .protocol import SelfImproverServer


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
            value = str(number)  # as the prompt shows it: `07` and ` 7` both read 7
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
        """The SDK's prompt, its arguments straight from the front matter (no generated signature for the
        SDK to read them back from); `check` has validated the values before `render` sees them."""
        defaults = {arg: spec["default"] for arg, spec in self.arguments.items() if "default" in spec}

        def render(**values: Any) -> str:  # values passed `check` first (server/protocol.py)
            return self.render(**(defaults | values))

        arguments = [
            PromptArgument(name=arg, description=spec.get("description"), required="default" not in spec)
            for arg, spec in self.arguments.items()
        ]
        return Prompt(
            name=self.name,
            title=self.title,
            description=self.description,
            arguments=arguments,
            fn=render,
            context_kwarg=None,
        )


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
