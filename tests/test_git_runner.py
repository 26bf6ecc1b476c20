"""The one git runner: hooks, user and system config, credential helpers and option-like refs are out of reach,
for each command and for the whole fix flow (apply_patch, run_checks, open, merge, revert) on a checkout
whose hooks and whose user's global config would all leave a mark if anything ran them."""

from __future__ import annotations

import ast
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from git_repos import commit_file, git
from mcp import Client
from mcp_calls import call
from merge_policy.merge_setup import Verdict, policy
from self_improver.server.app import build_server
from self_improver.server.config import Settings
from self_improver.server.context import AppResources
from self_improver.tools.support.git_runner import (
    IDENTITY,
    GitError,
    check_ref,
    git_text,
    popen_git,
    redact_remote,
    run_git,
)
from self_improver.tools.support.problems import ToolInputError, UnavailableError

ROOT = Path(__file__).resolve().parents[1]
HOOKS = (
    "pre-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "post-checkout",
    "post-merge",
    "pre-push",
    "pre-rebase",
    "post-rewrite",
    "reference-transaction",
    "pre-auto-gc",
    "post-index-change",
)
SIGNATURE = "5eed5eed5eed"
IMAP = "TIMEOUT = 30\n\n\ndef login():\n    return TIMEOUT\n"
TEST_IMAP = "from worker.imap import login\n\n\ndef test_login():\n    assert login()\n"
CHECK = (
    "import sys\n\nsys.path.insert(0, '.')\nimport worker.imap as m\n\nassert m.TIMEOUT == 60, m.TIMEOUT\n"
)


def plant_hooks(directory: Path, marker: Path) -> None:
    """Every hook git may run, each appending its name to `marker`."""
    directory.mkdir(parents=True, exist_ok=True)
    for hook in HOOKS:
        script = directory / hook
        script.write_text(f"#!/bin/sh\necho {hook} >> {marker}\ncat >/dev/null 2>&1 || true\n")
        script.chmod(0o755)


def plant_user_config(home: Path, marker: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user whose ~/.gitconfig (also named by GIT_CONFIG_GLOBAL and XDG) runs programs when git reads it."""
    hooks = home / "global-hooks"
    plant_hooks(hooks, marker)
    recorder = f"sh -c 'echo user-config >> {marker}; cat'"
    text = (
        f"[core]\n\thooksPath = {hooks}\n\tfsmonitor = {home / 'fsmonitor'}\n"
        f'[filter "planted"]\n\tclean = "{recorder}"\n\tsmudge = "{recorder}"\n'
        f"[credential]\n\thelper = \"!sh -c 'echo user-config >> {marker}; echo password=hunter2'\"\n"
        "[user]\n\tname = Planted\n\temail = planted@example.com\n"
        "[alias]\n\tst = status\n"
    )
    (home / ".gitconfig").write_text(text)
    (home / ".config" / "git").mkdir(parents=True)
    (home / ".config" / "git" / "config").write_text(text)
    (home / "fsmonitor").write_text(f"#!/bin/sh\necho fsmonitor >> {marker}\n")
    (home / "fsmonitor").chmod(0o755)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_DIR", str(home / "not-a-repo"))  # a caller's GIT_DIR must not redirect us


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "--initial-branch=main")
    commit_file(path, "a.txt", "a\n", "initial")
    return path


# -- one command at a time ------------------------------------------------------------------------------


def test_hooks_do_not_run_for_commit_or_push(repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "HOOK_RAN"
    plant_hooks(repo / ".git" / "hooks", marker)
    plant_hooks(tmp_path / "configured-hooks", marker)
    git(repo, "config", "core.hooksPath", str(tmp_path / "configured-hooks"))  # the repo's own setting
    remote = tmp_path / "remote.git"
    run_git(tmp_path, "init", "--bare", "-q", "--", str(remote))
    (repo / "b.txt").write_text("b\n")
    run_git(repo, "add", "--", "b.txt")
    run_git(repo, "commit", "-q", "-m", "b", env=IDENTITY)
    run_git(repo, "push", "-q", "--", str(remote), "refs/heads/main:refs/heads/main")
    assert git(remote, "rev-parse", "main") == git(repo, "rev-parse", "main")
    assert not marker.exists(), marker.read_text()


def test_the_same_push_without_the_runner_runs_the_users_pre_push_hook(repo: Path, tmp_path: Path) -> None:
    """The control: the planted hook is real, so the test above proves something."""
    marker = tmp_path / "HOOK_RAN"
    plant_hooks(repo / ".git" / "hooks", marker)
    remote = tmp_path / "remote.git"
    run_git(tmp_path, "init", "--bare", "-q", "--", str(remote))
    git(repo, "push", "-q", "--porcelain", "--", str(remote), "refs/heads/main:refs/heads/main")
    assert "pre-push" in marker.read_text()


def test_no_user_or_system_config_and_home_is_not_the_users(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "USER_CONFIG_RAN"
    plant_user_config(tmp_path / "home", marker, monkeypatch)
    assert run_git(repo, "config", "--get", "user.name", check=False).returncode == 1
    assert run_git(repo, "config", "--get", "filter.planted.clean", check=False).returncode == 1
    assert run_git(repo, "st", check=False).returncode != 0  # the user's alias is unknown here
    home = git_text(repo, "-c", 'alias.home=!printf %s "$HOME"', "home")
    assert home == "/dev/null"
    (repo / ".gitattributes").write_text("*.txt filter=planted\n")
    (repo / "c.txt").write_text("c\n")
    run_git(repo, "add", "--", ".gitattributes", "c.txt")  # the user's clean filter would run here
    run_git(repo, "commit", "-q", "-m", "c", env=IDENTITY)
    assert git_text(repo, "log", "-1", "--format=%an", "--") == "self-improver"
    assert not marker.exists(), marker.read_text()


def test_repository_credential_helpers_are_switched_off(repo: Path, tmp_path: Path) -> None:
    marker = tmp_path / "HELPER_RAN"
    git(
        repo,
        "config",
        "credential.helper",
        f"!sh -c 'echo helper >> {marker}; echo password=s3cr3t-from-helper'",
    )
    done = run_git(repo, "credential", "fill", input=b"protocol=https\nhost=git.example.com\n\n", check=False)
    assert b"s3cr3t-from-helper" not in done.stdout + done.stderr
    assert not marker.exists()


def test_failures_mask_remote_credentials(repo: Path) -> None:
    remote = "https://deploy:tok3n-Value-9f8e7d@127.0.0.1:9/acme/worker.git"
    with pytest.raises(GitError) as caught:
        run_git(repo, "ls-remote", "--", remote, timeout=30)
    shown = str(caught.value)
    assert "tok3n-Value-9f8e7d" not in shown and "deploy" not in shown
    assert "https://***@127.0.0.1:9/acme/worker.git" in shown
    assert (
        redact_remote("push to https://x-access-token:abc@github.com/a/b")
        == "push to https://***@github.com/a/b"
    )


@pytest.mark.parametrize("ref", ["-x", "--upload-pack=touch /tmp/pwned", "--output=/tmp/x", "", " main"])
def test_option_like_refs_are_refused_with_what_to_send(ref: str) -> None:
    with pytest.raises(ToolInputError, match="Send a branch name or commit id"):
        check_ref(ref, "branch")
    assert check_ref("self-improver/abc123-fix", "branch") == "self-improver/abc123-fix"


def test_tools_refuse_an_option_like_branch(repo: Path, tmp_path: Path) -> None:
    from self_improver.tools.pulls import git as pulls_git
    from self_improver.tools.pulls import scratch_repo as merge

    with pytest.raises(ToolInputError, match="starts with\\s+'-'"):
        pulls_git.commit_of(repo, "--output=/tmp/x")
    with pytest.raises(ToolInputError, match="starts with\\s+'-'"):
        merge.fetch_branch(merge.scratch_repo(tmp_path, "r"), repo, "-main", "x")


def test_timeouts_and_missing_directories_say_what_to_do(repo: Path, tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(UnavailableError, match="took longer than"):
        run_git(repo, "-c", "alias.slow=!sleep 30", "slow", timeout=0.3)
    assert time.monotonic() - started < 10  # what git started was ended with it
    with pytest.raises(UnavailableError, match="not a directory"):
        run_git(tmp_path / "missing", "status")


def test_streaming_runs_with_the_same_settings(repo: Path) -> None:
    process = popen_git(repo, "-c", 'alias.home=!printf %s "$HOME"', "home")
    out, _ = process.communicate(timeout=30)
    assert out == b"/dev/null"


def test_every_git_command_of_the_project_goes_through_the_runner() -> None:
    """No module of tools/ or server/ starts git itself: a list or tuple literal beginning with "git"
    (an argv) appears only in the runner."""
    allowed = {
        "tools/support/git_runner.py",
    }
    offenders = []
    for path in sorted([*ROOT.joinpath("tools").rglob("*.py"), *ROOT.joinpath("server").rglob("*.py")]):
        relative = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.List | ast.Tuple) and node.elts:
                first = node.elts[0]
                if isinstance(first, ast.Constant) and first.value == "git" and relative not in allowed:
                    offenders.append(f"{relative}:{node.lineno}")
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                if any(n == "git" or n.startswith("git.") for n in names) and not getattr(node, "level", 0):
                    offenders.append(f"{relative}:{node.lineno} (GitPython)")
    assert offenders == [], "run git through tools/support/git_runner.py: " + ", ".join(offenders)


# -- the whole fix flow on a booby-trapped checkout -----------------------------------------------------


@pytest.fixture
def trapped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A user's checkout whose every hook, in .git/hooks and in its configured hooksPath, and whose
    user's global config (hooks, fsmonitor, a clean/smudge filter the repo's .gitattributes names)
    write to a marker file."""
    marker = tmp_path / "SOMETHING_RAN"
    checkout = tmp_path / "worker"
    checkout.mkdir()
    git(checkout, "init", "-q", "--initial-branch=main")
    (checkout / "tests").mkdir()
    (checkout / "tests" / "test_imap.py").write_text(TEST_IMAP)
    (checkout / "check.py").write_text(CHECK)
    (checkout / ".gitattributes").write_text("*.py filter=planted\n")
    git(checkout, "add", "tests/test_imap.py", "check.py", ".gitattributes")
    commit_file(checkout, "worker/imap.py", IMAP, "initial")
    plant_hooks(checkout / ".git" / "hooks", marker)
    plant_hooks(tmp_path / "repo-hooks", marker)
    git(checkout, "config", "core.hooksPath", str(tmp_path / "repo-hooks"))
    plant_user_config(tmp_path / "home", marker, monkeypatch)
    return checkout, marker


async def test_fix_flow_never_runs_a_hook_or_the_users_config(
    make_settings: Callable[..., Settings], demo_db: Path, trapped: tuple[Path, Path]
) -> None:
    checkout, marker = trapped
    settings = make_settings(
        repos=[
            {
                "name": "worker",
                "path": str(checkout),
                "default_branch": "main",
                "test_command": f"{sys.executable} check.py",
            }
        ],
        telemetry_db=demo_db,
        pr_provider="local",
        max_prs_per_run=10,
        sandbox="off",
        auto_merge=policy(allowed_paths=["worker/", "tests/"]),
    )
    edits = [
        {"path": "worker/imap.py", "search": "TIMEOUT = 30\n", "replace": "TIMEOUT = 60\n"},
        {
            "path": "tests/test_imap.py",
            "search": "    assert login()\n",
            "replace": "    assert login()\n\n\ndef test_timeout():\n    assert login() == 60\n",
        },
    ]
    async with Client(build_server(settings)) as client:
        applied = await call(
            client, "apply_patch", repo="worker", signature=SIGNATURE, title="Raise IMAP timeout", edits=edits
        )
        checked = await call(client, "run_checks", repo="worker", branch=applied["branch"])
        opened = await call(
            client,
            "open_pull_request",
            repo="worker",
            branch=applied["branch"],
            title="Raise the IMAP login timeout to 60s",
            body="IMAP logins time out after 30s under load; this raises the limit and tests it.",
            signature=SIGNATURE,
            draft=False,
        )
    number = opened["pull_request"]["number"]
    resources = AppResources.from_settings(settings)
    try:
        await resources.pulls.set_local_checks("worker", number, "passing")
    finally:
        await resources.close()
    async with Client(build_server(settings)) as client:
        merged = await call(client, "merge_pull_request", number=number, repo="worker")
    resources = AppResources.from_settings(settings)
    try:
        reverted = await resources.pulls.open_revert_pull_request(
            "worker", number, Verdict(signature=SIGNATURE, pr_number=number)
        )
    finally:
        await resources.close()

    assert checked["passed"] is True, checked
    assert merged["merged"] is True, merged["evaluation"]
    assert reverted.pull_request.head == f"self-improver/revert-{number}"
    remote = settings.data_dir / "remotes" / "worker.git"
    assert "TIMEOUT = 60" in git(remote, "show", "main:worker/imap.py")
    assert not marker.exists(), f"ran: {sorted(set(marker.read_text().split()))}"
