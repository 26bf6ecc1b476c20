"""The `dry_run` setting: apply_patch makes its change in a scratch copy under the data dir and says so;
the user's repository gets no branch, worktree or file, and open_pull_request then opens nothing."""

from __future__ import annotations

from pathlib import Path

from mcp import Client
from mcp_calls import call
from self_improver.server.app import build_server

SIGNATURE = "3b8fe4199281"
BRANCH = f"self-improver/{SIGNATURE}-raise-imap-timeout"
EDIT = {"path": "app/mail.py", "search": "TIMEOUT = 10\n", "replace": "TIMEOUT = 60\n"}


def refs(helpers, repo: Path) -> str:
    return helpers.git(repo, "for-each-ref", "--format=%(refname) %(objectname)")


async def test_a_dry_run_apply_patch_creates_no_branch_and_open_pull_request_opens_nothing(
    repo_settings, user_repo, helpers, tmp_path: Path
) -> None:
    settings = repo_settings(dry_run=True, pr_provider="local")
    before, refs_before = helpers.snapshot(user_repo.path), refs(helpers, user_repo.path)
    worktrees_before = helpers.worktree_paths(user_repo.path)
    async with Client(build_server(settings)) as client:
        patch = {"repo": "worker", "signature": SIGNATURE, "title": "Raise IMAP timeout", "edits": [EDIT]}
        patched, again = [await call(client, "apply_patch", **patch) for _ in range(2)]  # twice: the same
        checked = await call(client, "run_checks", repo="worker", branch=patched["branch"])
        opened = await call(
            client,
            "open_pull_request",
            repo="worker",
            branch=patched["branch"],
            title="Raise the IMAP timeout to 60s",
            body="IMAP logins time out under load.",
            signature=SIGNATURE,
        )
        listed = await call(client, "list_pull_requests", state="all")
    assert refs(helpers, user_repo.path) == refs_before
    assert helpers.snapshot(user_repo.path) == before
    assert helpers.worktree_paths(user_repo.path) == worktrees_before
    assert patched["dry_run"] is True and patched["branch"] == BRANCH and patched["created_branch"]
    assert patched["diffstat"] == [{"path": "app/mail.py", "status": "modified", "added": 1, "removed": 1}]
    assert "-TIMEOUT = 10\n+TIMEOUT = 60" in patched["diff"]
    assert Path(patched["worktree"]).is_relative_to(tmp_path / "data")
    assert again["dry_run"] is True and not again["already_applied"]  # a fresh scratch copy each time
    assert checked["passed"] is True  # the checks ran on the dry-run copy
    assert opened["dry_run"] is True and opened["pull_request"]["number"] == 0
    assert opened["diffstat"] == ["app/mail.py +1 -1"]
    assert opened["pull_request"]["head"] == BRANCH and "Evidence" in opened["body"]
    assert listed["count"] == 0
    remote = tmp_path / "data" / "remotes" / "worker.git"
    assert not remote.exists() or helpers.git(remote, "for-each-ref") == ""
