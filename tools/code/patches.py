"""apply_patch: one model-written change (a unified diff or search/replace edits) -> one commit on a fix branch.

Either the whole change is committed, or nothing is kept: any refusal (bad path, hunk that does not
fit, Python syntax error, denied file) puts the fix branch back and removes what the call created.

A dry run makes the same change in a scratch clone under the data dir (`worktrees.open_dry_run_checkout`)
and reports it (`dry_run: true`): the user's repository gets no branch, worktree or object.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ..support.git_runner import IDENTITY, GitError, git_text, run_git
from ..support.problems import NotFoundError, ToolInputError
from .edits import apply_edit
from .models import Edit, FileStat, PatchResult
from .paths import clean_relative_path, denied_by, ensure_allowed, resolve_for_write
from .repos import Repo
from .syntax_check import check_python_syntax
from .tolerant_apply import apply_hunks, new_file_text, split_lines
from .unified_diff import FilePatch, parse_unified_diff
from .worktrees import (
    FixWorktree,
    discard,
    ensure_outside_checkout,
    fix_branch_name,
    open_dry_run_checkout,
    open_fix_worktree,
    remove_dry_run_checkout,
)

MAX_DIFF_SHOWN = 20_000
FORBIDDEN_MODES = {"120000": "a symbolic link", "160000": "a submodule"}
PATCH_TRAILER = "Self-Improver-Patch"
MODE_TRAILER = "Self-Improver-Mode"


def apply_patch(
    repo: Repo,
    signature: str,
    title: str,
    diff: str | None = None,
    edits: list[Edit] | None = None,
    dry_run: bool = False,
) -> PatchResult:
    """Commit the change on `self-improver/<signature>-<slug>` in its worktree; see the module docstring."""
    if (diff is None) == (edits is None):
        raise ToolInputError(
            "send exactly one of diff (a unified diff) or edits (a list of {path, search, replace})"
        )
    title = " ".join(title.split())
    if not title:
        raise ToolInputError(
            "title is empty: give a short summary of the fix, e.g. 'Retry IMAP login on timeout'"
        )
    branch = fix_branch_name(signature, title)
    patches: list[FilePatch] = []
    if diff is not None:
        if not diff.strip():
            raise ToolInputError("diff is empty: send a unified diff, or use edits instead")
        patches = parse_unified_diff(diff)
        check_diff_paths(repo, patches)
    else:
        if not edits:
            raise ToolInputError("edits is empty: send at least one {path, search, replace}")
        edits = [check_edit_path(repo, edit) for edit in edits]
    patch_id = _patch_id(diff, edits)
    ensure_outside_checkout(repo)  # before the lock file, which lives beside the worktrees
    with repo.exclusive():
        base = repo.default_commit()
        fix = open_dry_run_checkout(repo, branch, base) if dry_run else open_fix_worktree(repo, branch, base)
        try:
            if fix.start_commit != base and _trailer(fix.path, fix.start_commit, PATCH_TRAILER) == patch_id:
                mode = _trailer(fix.path, fix.start_commit, MODE_TRAILER) or ("edits" if edits else "strict")
                return describe(fix, fix.start_commit, mode, already_applied=True, dry_run=dry_run)
            if diff is not None:
                mode = apply_diff(fix.path, diff, patches)
            else:
                mode = "edits"
                apply_edits(fix.path, edits or [])
            changed = staged_changes(fix.path, repo.denied_paths)
            check_python_syntax(fix.path, [path for status, path in changed if status != "D"])
            commit = commit_fix(fix.path, signature, title, patch_id, mode)
            return describe(fix, commit, mode, already_applied=False, dry_run=dry_run)
        except BaseException:
            if dry_run:
                remove_dry_run_checkout(repo, fix.path)
            else:
                discard(fix)
            raise


def check_diff_paths(repo: Repo, patches: list[FilePatch]) -> None:
    """Refuse binary, symlink and denied files and paths leaving the repo before anything is written."""
    for patch in patches:
        if patch.binary:
            raise ToolInputError(
                f"the diff changes {patch.path!r} as a binary file: binary diffs are not supported; change only "
                "text files"
            )
        if patch.new_mode in FORBIDDEN_MODES:
            raise ToolInputError(
                f"the diff makes {patch.path!r} {FORBIDDEN_MODES[patch.new_mode]}: only regular files can be changed"
            )
        if patch.old_path is not None:
            patch.old_path = clean_relative_path(patch.old_path, "path in the diff")
        if patch.new_path is not None:
            patch.new_path = clean_relative_path(patch.new_path, "path in the diff")
        for path in patch.paths:
            ensure_allowed(path, repo.denied_paths)
        if not (patch.hunks or patch.is_new or patch.is_deleted or patch.is_rename or patch.new_mode):
            raise ToolInputError(
                f"the diff names {patch.path!r} but has no hunk for it: each change needs an '@@' line followed "
                "by ' ' (unchanged), '-' (removed) and '+' (added) lines"
            )


def check_edit_path(repo: Repo, edit: Edit) -> Edit:
    path = clean_relative_path(edit.path, "edit path")
    ensure_allowed(path, repo.denied_paths)
    return edit.model_copy(update={"path": path})


def apply_diff(root: Path, diff: str, patches: list[FilePatch]) -> str:
    """Apply with `git apply` when every hunk sits exactly where it says; else place hunks by content."""
    strip = _strip_level(patches)
    if strip is not None and hunks_at_stated_lines(root, patches):
        data = (diff if diff.endswith("\n") else diff + "\n").encode("utf-8", "surrogateescape")
        options = [f"-p{strip}", "--whitespace=nowarn"]
        if run_git(root, "apply", "--check", *options, input=data, check=False).returncode == 0:
            run_git(root, "apply", "--index", *options, input=data)
            return "strict"
    contents, modes = tolerant_contents(root, patches)
    write_files(root, contents, modes)
    stage(root, list(contents) + [path for path in modes if path not in contents])
    return "tolerant"


def hunks_at_stated_lines(root: Path, patches: list[FilePatch]) -> bool:
    """True when every hunk's counts fit and its old lines are exactly at its stated line number.

    `git apply` would otherwise move a hunk to the nearest place its context fits, which can be the
    wrong copy of a repeated block; the tolerant applier refuses ambiguous places instead.
    """
    seen: set[str] = set()
    for patch in patches:
        if any(path in seen for path in patch.paths):
            return False
        seen.update(patch.paths)
        if not all(h.counts_fit and h.old_start is not None for h in patch.hunks):
            return False
        if patch.is_new:
            if (root / patch.path).exists():
                return False
            continue
        assert patch.old_path is not None
        try:
            text = _read_text(root, patch.old_path)
        except ToolInputError:
            return False
        if text is None:
            return False
        lines = [line.removesuffix("\n") for line in split_lines(text)]
        for hunk in patch.hunks:
            old = [line.text for line in hunk.old_lines]
            if old and lines[hunk.old_start - 1 : hunk.old_start - 1 + len(old)] != old:  # type: ignore[operator]
                return False
    return True


def tolerant_contents(root: Path, patches: list[FilePatch]) -> tuple[dict[str, str | None], dict[str, str]]:
    """New text per path (None: delete) and file modes, computed in memory before anything is written."""
    state: dict[str, str | None] = {}
    modes: dict[str, str] = {}

    def current(path: str) -> str | None:
        return state[path] if path in state else _read_text(root, path)

    for patch in patches:
        if patch.new_mode and patch.new_path:
            modes[patch.new_path] = patch.new_mode
        if patch.is_new:
            assert patch.new_path is not None
            if current(patch.new_path) is not None:
                raise ToolInputError(
                    f"the diff creates {patch.new_path!r} (--- /dev/null) but it already exists: change it with "
                    f"'--- a/{patch.new_path}' and '+++ b/{patch.new_path}', or use edits"
                )
            state[patch.new_path] = new_file_text(patch)
            continue
        assert patch.old_path is not None
        original = current(patch.old_path)
        if original is None:
            raise NotFoundError(
                f"the diff changes {patch.old_path!r}, which does not exist on the fix branch. Paths are relative "
                "to the repository root (search_code finds files); to create a file use '--- /dev/null'"
            )
        updated = apply_hunks(original, patch.hunks, patch.old_path) if patch.hunks else original
        if patch.is_deleted:
            if updated:
                raise ToolInputError(
                    f"the diff deletes {patch.old_path!r} but its hunks do not remove every line of it: list "
                    "all of its lines as '-' lines"
                )
            state[patch.old_path] = None
        elif patch.is_rename:
            assert patch.new_path is not None
            if current(patch.new_path) is not None:
                raise ToolInputError(
                    f"the diff renames {patch.old_path!r} to {patch.new_path!r}, which exists"
                )
            state[patch.old_path] = None
            state[patch.new_path] = updated
        else:
            state[patch.old_path] = updated
    return state, modes


def apply_edits(root: Path, edits: list[Edit]) -> None:
    state: dict[str, str] = {}
    for number, edit in enumerate(edits, start=1):
        if edit.path not in state:
            text = _read_text(root, edit.path)
            if text is None:
                raise NotFoundError(
                    f"edit {number}: {edit.path!r} does not exist on the fix branch (search_code finds files). "
                    f"Edits change existing files; to create one send a diff with '--- /dev/null' and "
                    f"'+++ b/{edit.path}'"
                )
            state[edit.path] = text
        state[edit.path] = apply_edit(state[edit.path], edit.search, edit.replace, edit.path, number)
    write_files(root, dict(state), {})
    stage(root, list(state))


def _read_text(root: Path, path: str) -> str | None:
    """The file's text in the worktree, None when it does not exist; refuses binary and non-UTF-8 files."""
    target = resolve_for_write(root, path)
    if not target.exists():
        return None
    if target.is_dir():
        raise ToolInputError(f"{path!r} is a directory, not a file")
    data = target.read_bytes()
    if b"\0" in data[:8000]:
        raise ToolInputError(f"{path!r} is a binary file: only text files can be changed")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ToolInputError(f"{path!r} is not UTF-8 text: it cannot be changed by apply_patch") from exc


def write_files(root: Path, contents: dict[str, str | None], modes: dict[str, str]) -> None:
    for path, text in contents.items():
        target = resolve_for_write(root, path)
        if text is None:
            if target.exists():
                target.unlink()
            continue
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text.encode("utf-8"))
        except (NotADirectoryError, FileExistsError) as exc:
            raise ToolInputError(f"cannot write {path!r}: a parent of it is a file, not a directory") from exc
    for path, mode in modes.items():
        target = resolve_for_write(root, path)
        if target.exists() and mode in ("100644", "100755"):
            target.chmod(0o755 if mode == "100755" else 0o644)


def stage(root: Path, paths: list[str]) -> None:
    try:
        run_git(root, "add", "--all", "--", *paths, env={"GIT_LITERAL_PATHSPECS": "1"})
    except GitError as exc:
        raise ToolInputError(f"git refused to stage the change: {exc.stderr}") from exc


def staged_changes(root: Path, denied: list[str]) -> list[tuple[str, str]]:
    """(status A/M/D, path) of the staged change, re-checked against the rules whatever applied it."""
    out = run_git(
        root, "diff", "--cached", "--raw", "-z", "--no-renames", "--no-ext-diff", "HEAD", "--"
    ).stdout
    tokens = out.decode("utf-8", "surrogateescape").split("\0")
    changes: list[tuple[str, str]] = []
    for meta, path in zip(tokens[0::2], tokens[1::2], strict=False):
        if not meta.startswith(":"):
            continue
        _old_mode, new_mode, _old, _new, status = meta[1:].split()
        rule = denied_by(path, denied)
        if rule is not None:
            raise ToolInputError(
                f"the change touches {path!r}, a denied path (rule {rule!r}): nothing was kept"
            )
        if status[0] != "D" and new_mode in FORBIDDEN_MODES:
            raise ToolInputError(f"the change makes {path!r} {FORBIDDEN_MODES[new_mode]}: nothing was kept")
        changes.append((status[0], path))
    if not changes:
        raise ToolInputError(
            "the patch changes nothing on the fix branch (is it already there? read_source shows the default "
            "branch; the fix branch may already hold it): nothing was committed"
        )
    return changes


def commit_fix(root: Path, signature: str, title: str, patch_id: str, mode: str) -> str:
    message = (
        f"fix({signature}): {title}\n\n"
        f"Proposed by self-improver for error signature {signature}.\n\n"
        f"Self-Improver-Signature: {signature}\n{MODE_TRAILER}: {mode}\n{PATCH_TRAILER}: {patch_id}\n"
    )
    run_git(root, "commit", "--quiet", "--no-verify", "-F", "-", input=message.encode(), env=IDENTITY)
    return git_text(root, "rev-parse", "HEAD")


def describe(
    fix: FixWorktree, commit: str, mode: str, already_applied: bool, dry_run: bool = False
) -> PatchResult:
    root = fix.path
    parent = git_text(root, "rev-parse", "--verify", f"{commit}^")
    numstat = git_text(root, "diff", "--numstat", "-z", "--no-renames", parent, commit, "--").split("\0")
    statuses = git_text(root, "diff", "--name-status", "-z", "--no-renames", parent, commit, "--").split("\0")
    status_of = dict(zip(statuses[1::2], statuses[0::2], strict=False))
    names = {"A": "added", "D": "deleted"}
    stats = []
    for entry in numstat:
        if entry.count("\t") < 2:
            continue
        added, removed, path = entry.split("\t", 2)
        stats.append(
            FileStat(
                path=path,
                status=names.get(status_of.get(path, "M")[:1], "modified"),  # type: ignore[arg-type]
                added=int(added) if added.isdigit() else 0,
                removed=int(removed) if removed.isdigit() else 0,
            )
        )
    shown = git_text(
        root,
        "diff",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--no-renames",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        parent,
        commit,
        "--",
    )
    return PatchResult(
        repo=fix.repo.name,
        branch=fix.branch,
        base_branch=fix.repo.default_branch,
        commit=commit,
        parent_commit=parent,
        mode=mode,  # type: ignore[arg-type]
        already_applied=already_applied,
        created_branch=fix.created_branch,
        files_changed=[stat.path for stat in stats],
        diffstat=stats,
        diff=shown[:MAX_DIFF_SHOWN],
        diff_truncated=len(shown) > MAX_DIFF_SHOWN,
        worktree=str(root),
        dry_run=dry_run,
    )


def _strip_level(patches: list[FilePatch]) -> int | None:
    prefixed = {patch.prefixed for patch in patches}
    return None if len(prefixed) != 1 else (1 if prefixed.pop() else 0)


def _patch_id(diff: str | None, edits: list[Edit] | None) -> str:
    payload = {"diff": diff.strip()} if diff is not None else {"edits": [e.model_dump() for e in edits or []]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


def _trailer(root: Path, commit: str, key: str) -> str | None:
    message = git_text(root, "log", "-1", "--format=%B", commit, "--")
    for line in message.splitlines():
        if line.startswith(f"{key}: "):
            return line.split(": ", 1)[1].strip()
    return None
