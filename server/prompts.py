"""Load the MCP prompts from `prompts/*.md`: TOML front matter (between `+++` lines) and a body.

The front matter declares title, description and typed arguments; the body uses `{name}` placeholders.
Keeping prompt text in markdown files lets people edit the nightly procedure without touching code.
"""

from __future__ import annotations

import inspect
import tomllib
from dataclasses import dataclass
from importlib import resources as package_files
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.prompts.base import Prompt
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS
from pydantic import Field

_TYPES: dict[str, type] = {"int": int, "str": str, "bool": bool, "float": float}


@dataclass(frozen=True)
class PromptFile:
    name: str
    title: str
    description: str
    arguments: dict[str, dict[str, Any]]
    body: str

    def render(self, **values: Any) -> str:
        for arg, spec in self.arguments.items():
            value = values.get(arg)
            low, high = spec.get("min"), spec.get("max")
            if isinstance(value, int | float) and (
                (low is not None and value < low) or (high is not None and value > high)
            ):
                raise MCPError(
                    INVALID_PARAMS, f"prompt {self.name}: {arg} must be between {low} and {high}; got {value}"
                )
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


def register_prompts(server: MCPServer) -> None:
    for prompt in load_prompt_files():
        server.add_prompt(prompt.as_prompt())
