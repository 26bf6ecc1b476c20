"""apply_patch through the MCP client: a commit on a fix branch in its own worktree, or nothing at all.

Every test compares the user's checkout byte for byte (files incl. untracked, index, HEAD, status)
before and after, and failures must leave no branch or worktree behind.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp_calls import call, call_error

SIGNATURE = "3b8fe4199281"
BRANCH = f"self-improver/{SIGNATURE}-raise-imap-timeout"
TIMEOUT_EDIT = {"path": "app/mail.py", "search": "TIMEOUT = 10\n", "replace": "TIMEOUT = 60\n"}
TIMEOUT_DIFF = (
    "diff --git a/app/mail.py b/app/mail.py\n"
    "--- a/app/mail.py\n"
    "+++ b/app/mail.py\n"
    "@@ -1,6 +1,6 @@\n"
    ' """Mail fetching."""\n'
    " \n"
    "-TIMEOUT = 10\n"
    "+TIMEOUT = 60\n"
    " \n"
    " \n"
    " def login(user):\n"
)


def patch_args(**extra: Any) -> dict[str, Any]:
    return {"repo": "worker", "signature": SIGNATURE, "title": "Raise IMAP timeout!", **extra}


async def test_edits_commit_on_a_fix_branch_from_main(code_server, user_repo, helpers, tmp_path) -> None:
    before = helpers.snapshot(user_repo.path)
    async with Client(code_server) as client:
        result = await call(client, "apply_patch", **patch_args(edits=[TIMEOUT_EDIT]))
    assert result["branch"] == BRANCH and result["base_branch"] == "main"
    assert (
        result["mode"] == "edits" and result["created_branch"] is True and result["already_applied"] is False
    )
    assert result["files_changed"] == ["app/mail.py"]
    assert result["diffstat"] == [{"path": "app/mail.py", "status": "modified", "added": 1, "removed": 1}]
    assert "-TIMEOUT = 10\n+TIMEOUT = 60" in result["diff"]
    assert result["parent_commit"] == user_repo.main_commit  # from main, not the checked-out wip
    worktree = Path(result["worktree"])
    assert worktree == tmp_path / "data" / "worktrees" / "worker" / f"{SIGNATURE}-raise-imap-timeout"
    assert "TIMEOUT = 60" in (worktree / "app" / "mail.py").read_text()
    assert not (worktree / "app" / "wip_only.py").exists()
    log = helpers.git(user_repo.path, "log", "-1", "--format=%an <%ae>|%s|%B", BRANCH)
    assert log.startswith(f"self-improver <self-improver@localhost>|fix({SIGNATURE}): Raise IMAP timeout!|")
    assert helpers.snapshot(user_repo.path) == before
    assert helpers.fix_branches(user_repo.path) == [BRANCH]


async def test_strict_diff_then_same_patch_again_is_already_applied(code_server, user_repo, helpers) -> None:
    before = helpers.snapshot(user_repo.path)
    async with Client(code_server) as client:
        first = await call(client, "apply_patch", **patch_args(diff=TIMEOUT_DIFF))
        again = await call(client, "apply_patch", **patch_args(diff=TIMEOUT_DIFF))
    assert first["mode"] == "strict" and first["already_applied"] is False
    assert (
        again["already_applied"] is True and again["commit"] == first["commit"] and again["mode"] == "strict"
    )
    assert helpers.git(user_repo.path, "rev-list", "--count", f"main..{BRANCH}").strip() == "1"
    assert helpers.snapshot(user_repo.path) == before


async def test_wrong_line_numbers_and_counts_apply_tolerantly(code_server, user_repo, helpers) -> None:
    sloppy = (
        "--- a/app/mail.py\n+++ b/app/mail.py\n"
        "@@ -40,2 +40,9 @@ def login(user):\n"
        "-TIMEOUT = 10   \n+TIMEOUT = 60\n"  # trailing spaces in the context are forgiven
        "@@ -99 +99 @@\n"
        " def fetch(user):\n-    session = login(user)\n+    session = login(user)  # retried\n"
    )
    async with Client(code_server) as client:
        result = await call(client, "apply_patch", **patch_args(diff=sloppy))
    assert result["mode"] == "tolerant"
    text = helpers.git(user_repo.path, "show", f"{BRANCH}:app/mail.py")
    assert text == helpers.MAIL_PY.replace("TIMEOUT = 10", "TIMEOUT = 60").replace(
        "session = login(user)", "session = login(user)  # retried"
    )


async def test_new_file_and_deletion_by_diff_and_a_second_commit(code_server, user_repo, helpers) -> None:
    create = "--- /dev/null\n+++ b/app/retry.py\n@@ -0,0 +1,2 @@\n+def retry(n):\n+    return n\n"
    delete = "diff --git a/README.md b/README.md\ndeleted file mode 100644\n--- a/README.md\n+++ /dev/null\n@@ -1,3 +0,0 @@\n-# worker\n-\n-Fetches mail.\n"
    async with Client(code_server) as client:
        created = await call(client, "apply_patch", **patch_args(diff=create))
        deleted = await call(client, "apply_patch", **patch_args(diff=delete))
    assert created["diffstat"] == [{"path": "app/retry.py", "status": "added", "added": 2, "removed": 0}]
    assert deleted["diffstat"] == [{"path": "README.md", "status": "deleted", "added": 0, "removed": 3}]
    assert deleted["created_branch"] is False and deleted["parent_commit"] == created["commit"]
    assert helpers.git(user_repo.path, "rev-list", "--count", f"main..{BRANCH}").strip() == "2"
    assert (user_repo.path / "README.md").exists()


async def test_search_text_not_found_shows_the_closest_lines(code_server, user_repo, helpers) -> None:
    before = helpers.snapshot(user_repo.path)
    wrong = {
        "path": "app/mail.py",
        "search": "def login(usr):\n    return connect(usr, timeout=TIMEOUT)\n",
        "replace": "x\n",
    }
    async with Client(code_server) as client:
        message = await call_error(client, "apply_patch", **patch_args(edits=[wrong]))
    assert "occurs nowhere" in message
    assert "lines 6-7" in message and "     6\tdef login(user):" in message
    assert helpers.snapshot(user_repo.path) == before
    assert helpers.fix_branches(user_repo.path) == []


FAILURES: dict[str, tuple[dict[str, Any], str]] = {
    "diff for a missing file": (
        {"diff": "--- a/app/nope.py\n+++ b/app/nope.py\n@@ -1 +1 @@\n-a\n+b\n"},
        "does not exist on the fix branch",
    ),
    "binary diff": (
        {
            "diff": "diff --git a/assets/logo.png b/assets/logo.png\nindex 1..2 100644\nBinary files a/assets/logo.png and b/assets/logo.png differ\n"
        },
        "binary diffs are not supported",
    ),
    "GIT binary patch": (
        {
            "diff": "diff --git a/x.bin b/x.bin\nnew file mode 100644\nGIT binary patch\nliteral 3\nKcmZ>Y%K!iX\n\nliteral 0\nHcmV?d00001\n\n"
        },
        "binary diffs are not supported",
    ),
    "denied workflow": (
        {
            "diff": "--- a/.github/workflows/ci.yml\n+++ b/.github/workflows/ci.yml\n@@ -1 +1 @@\n-on: push\n+on: [push]\n"
        },
        "denied path",
    ),
    "denied secret by edits": (
        {"edits": [{"path": ".env", "search": "API_TOKEN", "replace": "X"}]},
        "denied path",
    ),
    "git internals": (
        {"edits": [{"path": ".git/config", "search": "[core]", "replace": "[x]"}]},
        "denied path",
    ),
    "search matches twice": (
        {"edits": [{"path": "app/mail.py", "search": "(user)", "replace": "(who)"}]},
        "occurs 3 times, starting at lines 6, 14, 15",
    ),
    "syntax error": (
        {"edits": [{"path": "app/mail.py", "search": "def fetch(user):\n", "replace": "def fetch(user:\n"}]},
        "syntax error at line 14",
    ),
    "path escaping with ..": (
        {"edits": [{"path": "app/../../outside.py", "search": "a", "replace": "b"}]},
        "'..'",
    ),
    "absolute path": (
        {"diff": "--- /dev/null\n+++ /tmp/evil.py\n@@ -0,0 +1 @@\n+x = 1\n"},
        "absolute",
    ),
    "new file that exists": (
        {"diff": "--- /dev/null\n+++ b/app/mail.py\n@@ -0,0 +1 @@\n+x = 1\n"},
        "already exists",
    ),
    "ambiguous hunk": (
        {"diff": "--- a/app/mail.py\n+++ b/app/mail.py\n@@ -80,2 +80,2 @@\n \n \n+# note\n"},
        "ambiguous",
    ),
    "both diff and edits": ({"diff": TIMEOUT_DIFF, "edits": [TIMEOUT_EDIT]}, "exactly one of diff"),
    "neither diff nor edits": ({}, "exactly one of diff"),
    "nothing changes": (
        {"diff": "--- a/app/mail.py\n+++ b/app/mail.py\n@@ -3 +3 @@\n-TIMEOUT = 10\n+TIMEOUT = 10\n"},
        "changes nothing",
    ),
    "symlink creation": (
        {
            "diff": "diff --git a/link b/link\nnew file mode 120000\n--- /dev/null\n+++ b/link\n@@ -0,0 +1 @@\n+/etc/passwd\n\\ No newline at end of file\n"
        },
        "symbolic link",
    ),
    "deleting by edits is impossible, a partial deletion diff is refused": (
        {"diff": "--- a/README.md\n+++ /dev/null\n@@ -1,3 +0,0 @@\n-# worker\n"},
        "do not remove every line",
    ),
}


@pytest.mark.parametrize("case", list(FAILURES))
async def test_refusals_leave_nothing_behind(case, code_server, user_repo, helpers, tmp_path) -> None:
    arguments, expected = FAILURES[case]
    before = helpers.snapshot(user_repo.path)
    async with Client(code_server) as client:
        message = await call_error(client, "apply_patch", **patch_args(**arguments))
    assert expected in message, message
    assert helpers.snapshot(user_repo.path) == before
    assert helpers.fix_branches(user_repo.path) == []
    assert helpers.worktree_paths(user_repo.path) == [str(user_repo.path)]
    leftovers = tmp_path / "data" / "worktrees" / "worker"
    assert not leftovers.exists() or not any(leftovers.iterdir())


async def test_syntax_error_message_shows_the_line_and_keeps_the_branch_as_it_was(
    code_server, user_repo, helpers
) -> None:
    async with Client(code_server) as client:
        first = await call(client, "apply_patch", **patch_args(edits=[TIMEOUT_EDIT]))
        before = helpers.snapshot(user_repo.path)
        broken = {"path": "app/mail.py", "search": "    return session\n", "replace": "    return session)\n"}
        message = await call_error(client, "apply_patch", **patch_args(edits=[broken]))
    assert "'app/mail.py'" in message and "syntax error at line 16" in message
    assert ">   16\t    return session)" in message and "Nothing was kept" in message
    assert helpers.git(user_repo.path, "rev-parse", BRANCH).strip() == first["commit"]
    worktree = Path(first["worktree"])
    assert helpers.git(worktree, "status", "--porcelain") == ""
    assert helpers.worktree_paths(user_repo.path) == [str(user_repo.path), str(worktree)]
    assert helpers.snapshot(user_repo.path) == before


async def test_symlink_pointing_out_of_the_repo_is_refused(code_server, user_repo, helpers, tmp_path) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("SECRET = 1\n")
    repo = user_repo.path
    helpers.git(repo, "stash", "-q", "--include-untracked")
    helpers.git(repo, "checkout", "-q", "main")
    os.symlink(outside, repo / "app" / "link.py")
    helpers.git(repo, "add", "app/link.py")
    helpers.git(repo, "commit", "-q", "-m", "link out of the repo")
    helpers.git(repo, "checkout", "-q", "wip")
    helpers.git(repo, "stash", "pop", "-q")
    before = helpers.snapshot(user_repo.path)
    async with Client(code_server) as client:
        by_edit = await call_error(
            client,
            "apply_patch",
            **patch_args(edits=[{"path": "app/link.py", "search": "SECRET = 1", "replace": "SECRET = 2"}]),
        )
        by_diff = await call_error(
            client,
            "apply_patch",
            **patch_args(
                diff="--- a/app/link.py\n+++ b/app/link.py\n@@ -1 +1 @@\n-SECRET = 1\n+SECRET = 2\n"
            ),
        )
        read = await call_error(client, "read_source", repo="worker", path="app/link.py")
    assert "symbolic link" in by_edit and "outside the repository" in by_edit
    assert "symbolic link" in by_diff
    assert "symbolic link" in read
    assert outside.read_text() == "SECRET = 1\n"
    assert helpers.snapshot(user_repo.path) == before
    assert helpers.fix_branches(user_repo.path) == []


async def test_data_dir_inside_the_checkout_is_refused(repo_settings, user_repo, helpers) -> None:
    from self_improver.server.app import build_server

    server = build_server(repo_settings(data_dir=user_repo.path / "state"))
    before = helpers.snapshot(user_repo.path)
    async with Client(server) as client:
        message = await call_error(client, "apply_patch", **patch_args(edits=[TIMEOUT_EDIT]))
    assert "inside repo 'worker'" in message and "data_dir" in message
    assert helpers.snapshot(user_repo.path) == before


async def test_user_on_the_default_branch_with_hooks_and_dirty_files_is_left_alone(
    code_server, user_repo, helpers
) -> None:
    repo = user_repo.path
    helpers.git(repo, "stash", "-q", "--include-untracked")
    helpers.git(repo, "checkout", "-q", "main")
    helpers.git(repo, "stash", "pop", "-q")  # main checked out, with the same uncommitted work on top
    marker = repo / "HOOK_RAN"
    for hook in ("post-checkout", "pre-commit", "post-commit", "reference-transaction"):
        script = repo / ".git" / "hooks" / hook
        script.write_text(f"#!/bin/sh\necho {hook} >> {marker}\n")
        script.chmod(0o755)
    before = helpers.snapshot(repo)
    async with Client(code_server) as client:
        applied = await call(client, "apply_patch", **patch_args(edits=[TIMEOUT_EDIT]))
        refused = await call_error(
            client, "apply_patch", **patch_args(title="Other fix", edits=[{**TIMEOUT_EDIT, "search": "nope"}])
        )
    assert applied["parent_commit"] == user_repo.main_commit and "occurs nowhere" in refused
    assert not marker.exists(), "a hook of the user's repository ran"
    assert helpers.snapshot(repo) == before
    assert helpers.git(repo, "rev-parse", "main").strip() == user_repo.main_commit
    assert helpers.fix_branches(repo) == [BRANCH]


async def test_worktree_directory_deleted_by_hand_is_recreated(code_server, user_repo, helpers) -> None:
    import shutil

    async with Client(code_server) as client:
        first = await call(client, "apply_patch", **patch_args(edits=[TIMEOUT_EDIT]))
        shutil.rmtree(first["worktree"])  # registration left behind, directory gone
        rename = "diff --git a/README.md b/docs/README.md\nsimilarity index 100%\nrename from README.md\nrename to docs/README.md\n"
        second = await call(client, "apply_patch", **patch_args(diff=rename))
    assert second["parent_commit"] == first["commit"] and second["created_branch"] is False
    assert sorted((s["path"], s["status"]) for s in second["diffstat"]) == [
        ("README.md", "deleted"),
        ("docs/README.md", "added"),
    ]
    assert Path(second["worktree"], "docs", "README.md").read_text() == "# worker\n\nFetches mail.\n"
    assert helpers.worktree_paths(user_repo.path) == [str(user_repo.path), second["worktree"]]
