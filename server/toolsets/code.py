"""Toolset `code`: read and search a configured repository, commit a fix on its own branch, run its tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import anyio.to_thread
from mcp.server.mcpserver import Context
from pydantic import Field

from ...tools.code.models import CheckResult, CodeSearch, Edit, PatchResult, SourceFile
from ..context import progress_reporter, resources
from ..lazy import lazy_import
from ..registry import READ_ONLY, WRITE_ADDITIVE, WRITE_IDEMPOTENT, Toolset
from .params import Branch, FilePath, Limit, RepoName, Signature

if TYPE_CHECKING:
    from ...tools.code import checks, patches, source
else:
    checks = lazy_import("self_improver.tools.code.checks")
    patches = lazy_import("self_improver.tools.code.patches")
    source = lazy_import("self_improver.tools.code.source")


toolset = Toolset(
    "code",
    "Repositories: read and search code, commit a fix on a self-improver branch, run the repo's checks.",
)

T = TypeVar("T")


async def in_thread(work: Callable[[], T]) -> T:
    """Git and file work blocks; run it off the event loop so other requests and progress keep flowing."""
    return await anyio.to_thread.run_sync(work)


@toolset.tool(title="Read a source file", annotations=READ_ONLY)
async def read_source(
    ctx: Context,
    repo: RepoName,
    path: FilePath,
    start_line: Annotated[int, Field(ge=1, le=10_000_000, description="First line (1-based).")] = 1,
    end_line: Annotated[
        int | None, Field(None, ge=1, le=10_000_000, description="Last line; default as far as the cap.")
    ] = None,
) -> SourceFile:
    """A file of a configured repo as committed on its default branch (what apply_patch starts from).

    At most 400 lines: when truncated, call again with start_line=next_start_line. Lines are '<number>\\t<text>'; the number is not in the file.
    Example: read_source(repo="worker", path="src/mail/imap.py", start_line=120, end_line=180).
    """
    registry = resources(ctx).repos
    return await in_thread(lambda: source.read_source(registry.get(repo), path, start_line, end_line))


@toolset.tool(title="Search code", annotations=READ_ONLY)
async def search_code(
    ctx: Context,
    repo: RepoName,
    pattern: Annotated[
        str,
        Field(
            min_length=1,
            max_length=1000,
            description="POSIX extended regex (git grep -E), e.g. 'def login\\('.",
        ),
    ],
    glob: Annotated[
        str | None,
        Field(None, max_length=300, description="Only files matching this, e.g. '*.py'."),
    ] = None,
    limit: Annotated[Limit, Field(le=500, description="Most matching lines to return.")] = 50,
    ignore_case: Annotated[bool, Field(description="Match letters in any case.")] = False,
) -> CodeSearch:
    """Lines matching a regex in a repo's default branch, as (path, line, text).

    Find where a traceback's function is defined or called, then read_source the file.
    When has_more, narrow the pattern or the glob. POSIX regex: [0-9], not \\d; escape ( ) . * + ? [ {.
    Example: search_code(repo="worker", pattern="def fetch_inbox", glob="*.py").
    """
    registry = resources(ctx).repos
    return await in_thread(lambda: source.search_code(registry.get(repo), pattern, glob, limit, ignore_case))


@toolset.tool(title="Commit a fix on a branch", annotations=WRITE_ADDITIVE)
async def apply_patch(
    ctx: Context,
    repo: RepoName,
    signature: Signature,
    title: Annotated[
        str,
        Field(
            min_length=3,
            max_length=120,
            description="What the fix does; names the branch and commit, e.g. 'Retry IMAP login'.",
        ),
    ],
    diff: Annotated[
        str | None,
        Field(
            None,
            max_length=500_000,
            description="A unified diff; a new file has '--- /dev/null'.",
        ),
    ] = None,
    edits: Annotated[
        list[Edit] | None,
        Field(
            None,
            min_length=1,
            max_length=50,
            description="Search/replace edits of existing files, in order.",
        ),
    ] = None,
) -> PatchResult:
    """Commit a fix for one error signature on its own branch, never touching the user's checkout.

    Send a diff or edits. The branch, self-improver/<signature>-<slug of title>, starts from the
    default branch; the same signature and title add a commit. Hunks with wrong line numbers are
    placed by their context. On failure nothing is kept; the error says what to correct.
    Next: run_checks(repo, branch).
    Example: apply_patch(repo="worker", signature="3b8fe4199281", title="Retry IMAP login",
    edits=[{"path": "src/mail/imap.py", "search": "timeout=10", "replace": "timeout=60"}]).
    """
    app = resources(ctx)
    registry, dry_run = app.repos, app.settings.dry_run
    return await in_thread(
        lambda: patches.apply_patch(registry.get(repo), signature, title, diff, edits, dry_run=dry_run)
    )


@toolset.tool(title="Run the repo's checks on a fix branch", annotations=WRITE_IDEMPOTENT)
async def run_checks(
    ctx: Context,
    repo: RepoName,
    branch: Annotated[Branch, Field(description="The branch apply_patch returned.")],
) -> CheckResult:
    """Run the repo's configured test command on a fix branch and report passed, exit code and output.

    Use it after apply_patch: never propose a fix whose checks fail. It runs sandboxed (no network,
    writes only in the worktree) with a time limit.
    Example: run_checks(repo="worker", branch="self-improver/3b8fe4199281-retry-imap-login").
    """
    app = resources(ctx)
    settings = app.settings
    return await checks.check_branch(
        app.repos,
        repo,
        branch,
        settings.sandbox,
        settings.data_dir,
        settings.check_timeout_seconds,
        progress_reporter(ctx),
        redact_emails=settings.redact_emails,
    )
