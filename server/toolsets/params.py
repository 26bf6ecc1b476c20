"""Tool parameter types shared by the toolsets: one definition, one description, one set of bounds.

A tool narrows a shared type where it needs to, e.g. `Annotated[Limit, Field(le=50, description=...)]`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

SIGNATURE_PATTERN = r"^[0-9a-f]+$"

Day = Annotated[
    str,
    Field(
        description="'today', 'yesterday' or YYYY-MM-DD (configured timezone).", min_length=1, max_length=32
    ),
]
Days = Annotated[int, Field(ge=1, le=90, description="Full days before `until`'s day.")]
Until = Annotated[
    str | None,
    Field(
        None,
        max_length=40,
        description="Exclusive end: 'today', 'yesterday', a date or an ISO time; default now.",
    ),
]
Agent = Annotated[str | None, Field(None, max_length=200, description="Only this agent's tasks.")]
Signature = Annotated[
    str,
    Field(
        min_length=6,
        max_length=64,
        pattern=SIGNATURE_PATTERN,
        description="From top_errors, e.g. '3b8fe4199281'.",
    ),
]
OptionalSignature = Annotated[
    str | None,
    Field(
        None,
        min_length=6,
        max_length=64,
        pattern=SIGNATURE_PATTERN,
        description="A signature from top_errors, e.g. '3b8fe4199281'.",
    ),
]
RepoName = Annotated[
    str,
    Field(min_length=1, max_length=100, description="A configured repo (its [[repos]] name), e.g. 'worker'."),
]
OptionalRepo = Annotated[
    str | None,
    Field(None, max_length=100, description="Only this configured repo; default all."),
]
Branch = Annotated[str, Field(min_length=1, max_length=200)]  # each tool says which branch it wants
FilePath = Annotated[
    str,
    Field(min_length=1, max_length=500, description="Path from the repo root, e.g. 'src/app.py'."),
]
Limit = Annotated[int, Field(ge=1)]
Cursor = Annotated[str | None, Field(None, max_length=500, description="next_cursor of the last page.")]
