"""The `[auto_merge]` settings as plain data: importable by the settings without the merge machinery."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AutoMergePolicy(BaseModel):
    """The `[auto_merge]` table. Only size limits and allowed paths are configurable; the rest is fixed."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="Allow merge_pull_request to merge at all (off by default).")
    max_files: int = Field(3, ge=1, le=50, description="Most changed paths a merged pull request may have.")
    max_changed_lines: int = Field(
        60, ge=1, le=2000, description="Most added + deleted lines a merged pull request may have."
    )
    allowed_paths: list[str] = Field(
        default_factory=list,
        description="Globs every changed path must match: 'worker/' (a directory), 'worker/*.py' ('*' "
        "crosses '/'), '*.py' (a file name at any depth). Empty: nothing may be merged. Include the tests.",
    )
