"""The gitlab provider, called directly, against the fake GitLab (REST v4 and git over HTTP) on 127.0.0.1."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pull_requests.fake_gitlab_api import FakeGitLab
from pull_requests.git_setup import BRANCH, SIGNATURE, UserRepo
from self_improver.tools.code.repo_config import RepoConfig
from self_improver.tools.pulls.marker import marker
from self_improver.tools.pulls.providers.base import PullDraft
from self_improver.tools.pulls.providers.gitlab import GitLabProvider, project_path
from self_improver.tools.pulls.retry import RetryPolicy
from self_improver.tools.support.problems import NotFoundError, ToolInputError, UnavailableError

TOKEN = "glpat-" + "T0kenForGitLab" * 2
PROJECT = "acme/worker"
MRS = r"/api/v4/projects/acme%2Fworker/merge_requests"
FAST = RetryPolicy(attempts=4, base_delay=0.01, max_delay=60.0)


@pytest.fixture
def fake_gitlab(github_remote: Path) -> Iterator[FakeGitLab]:
    with FakeGitLab.serving(TOKEN, PROJECT, github_remote) as fake:
        yield fake


@pytest.fixture
def repo(user_repo: UserRepo) -> RepoConfig:
    return RepoConfig(name="worker", path=user_repo.path, github=PROJECT)


@pytest.fixture
def provider(fake_gitlab: FakeGitLab, tmp_path: Path) -> Iterator[GitLabProvider]:
    made = GitLabProvider(TOKEN, fake_gitlab.base_url, data_dir=tmp_path / "data", policy=FAST)
    yield made
    made.close()


def _draft(repo: RepoConfig, head: str, title: str = "Raise the IMAP login timeout to 60s") -> PullDraft:
    body = f"IMAP logins time out after 30s under load; this raises the limit.\n\n{marker(SIGNATURE)}"
    return PullDraft(repo, BRANCH, head, title, body, SIGNATURE, None, True, ["self-improver", "bug"])


def _opened(provider: GitLabProvider, repo: RepoConfig, user_repo: UserRepo) -> int:
    provider.push(repo, BRANCH)
    return provider.create(_draft(repo, user_repo.head), "run-1").number


def test_push_over_http_then_open_a_draft_mr_once(
    provider: GitLabProvider, fake_gitlab: FakeGitLab, repo: RepoConfig, user_repo: UserRepo, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    shown = provider.push(repo, BRANCH)
    opened = provider.create(_draft(repo, user_repo.head), "run-1")
    again = provider.create(_draft(repo, user_repo.head, title="Another title"), "run-2")

    assert shown == f"{fake_gitlab.base_url}/acme/worker.git"
    assert fake_gitlab.projects[PROJECT].branch_sha(BRANCH) == user_repo.head
    assert fake_gitlab.git_logins and all(login == ("oauth2", True) for login in fake_gitlab.git_logins)
    assert (opened.number, opened.status, opened.draft, opened.checks) == (1, "open", True, "none")
    assert opened.title == "Raise the IMAP login timeout to 60s" and opened.signature == SIGNATURE
    assert (opened.head, opened.base, opened.labels) == (BRANCH, "main", ["bug", "self-improver"])
    assert opened.url == "https://gitlab.example/acme/worker/-/merge_requests/1"
    [stored] = fake_gitlab.mrs(PROJECT)
    assert stored["title"] == "Draft: Raise the IMAP login timeout to 60s"
    assert f"<!-- self-improver:signature={SIGNATURE} -->" in stored["description"]
    assert again.number == 1 and fake_gitlab.count("POST", MRS) == 1
    assert provider.find_open_by_signature(repo, SIGNATURE) == opened
    assert provider.find_open_by_head(repo, BRANCH) == opened
    assert provider.find_open_by_signature(repo, "ffffffffffff") is None
    assert provider.count_open([repo, RepoConfig(name="other", path=user_repo.path)]) == 1
    assert provider.git_remote(repo)[0] == shown and TOKEN not in shown
    assert TOKEN not in caplog.text and TOKEN not in str(fake_gitlab.bodies)
    assert "127.0.0.1" in caplog.text  # the HTTP client's request log was captured, without the token


def test_502_after_create_is_looked_up_not_sent_again(
    provider: GitLabProvider, fake_gitlab: FakeGitLab, repo: RepoConfig, user_repo: UserRepo
) -> None:
    fake_gitlab.inject("POST", MRS, 502, {"message": "502 Bad Gateway"}, after=True)
    number = _opened(provider, repo, user_repo)
    assert number == 1 and len(fake_gitlab.mrs(PROJECT)) == 1
    assert fake_gitlab.count("POST", MRS) == 1  # found by its branch after the 502, not re-sent


def test_429_waits_for_retry_after_then_creates(
    provider: GitLabProvider, fake_gitlab: FakeGitLab, repo: RepoConfig, user_repo: UserRepo
) -> None:
    fake_gitlab.inject("POST", MRS, 429, "Retry later", headers={"Retry-After": "1"})
    provider.push(repo, BRANCH)
    started = time.monotonic()
    opened = provider.create(_draft(repo, user_repo.head), "run-1")
    assert time.monotonic() - started >= 1.0
    assert opened.number == 1 and len(fake_gitlab.mrs(PROJECT)) == 1
    assert fake_gitlab.count("POST", MRS) == 2


def test_429_asking_for_too_long_stops_with_when_to_retry(
    provider: GitLabProvider, fake_gitlab: FakeGitLab, repo: RepoConfig, user_repo: UserRepo
) -> None:
    fake_gitlab.inject("GET", MRS, 429, "Retry later", headers={"Retry-After": "3600"})
    started = time.monotonic()
    with pytest.raises(UnavailableError) as caught:
        provider.page(repo, "open", None, 10)
    assert time.monotonic() - started < 5 and "3600s" in str(caught.value) and TOKEN not in str(caught.value)
    assert fake_gitlab.count("GET", MRS) == 1


def test_page_newest_first_with_pipeline_status(
    provider: GitLabProvider, fake_gitlab: FakeGitLab, repo: RepoConfig
) -> None:
    heads = {}
    for i in range(1, 6):
        sig, heads[i] = f"aaaaaaaaaaa{i}", f"{i}" * 40
        fake_gitlab.add_mr(
            PROJECT,
            f"self-improver/{sig}-fix",
            heads[i],
            f"Fix {i}",
            f"Fix {i}\n\n{marker(sig)}",
            ["self-improver"],
        )
    fake_gitlab.add_mr(PROJECT, "someone/feature", "9" * 40, "A person's change", "no marker", [])
    fake_gitlab.add_pipeline(PROJECT, heads[1], "failed")
    fake_gitlab.add_pipeline(PROJECT, heads[2], "failed")
    fake_gitlab.add_pipeline(PROJECT, heads[2], "success")  # re-run: the newest counts
    fake_gitlab.add_pipeline(PROJECT, heads[3], "running")
    fake_gitlab.add_pipeline(PROJECT, heads[5], "canceled")
    fake_gitlab.set_state(PROJECT, 5, "merged")

    first = provider.page(repo, "all", None, 3)
    rest = provider.page(repo, "all", first[-1].number, 3)
    merged = provider.page(repo, "merged", None, 10)
    open_ = provider.page(repo, "open", None, 10)

    rows = first + rest
    assert [r.number for r in rows] == [5, 4, 3, 2, 1]
    checks = {r.signature: r.checks for r in rows}
    assert checks == {
        "aaaaaaaaaaa1": "failing",
        "aaaaaaaaaaa2": "passing",
        "aaaaaaaaaaa3": "pending",
        "aaaaaaaaaaa4": "none",
        "aaaaaaaaaaa5": "failing",
    }
    assert [r.number for r in merged] == [5] and merged[0].status == "merged" and merged[0].merged_at
    assert [r.number for r in open_] == [4, 3, 2, 1]
    assert all(r.created_at.endswith("Z") and "." not in r.created_at for r in rows)
    assert provider.count_open([repo]) == 4


def test_merge_exactly_the_snapshot_head(
    provider: GitLabProvider, fake_gitlab: FakeGitLab, repo: RepoConfig, user_repo: UserRepo
) -> None:
    number = _opened(provider, repo, user_repo)
    fake_gitlab.mrs(PROJECT)[0]["title"] = "Raise the IMAP login timeout to 60s"  # ready for review
    fake_gitlab.add_pipeline(PROJECT, user_repo.head, "success", ref=BRANCH)
    bare = fake_gitlab.projects[PROJECT]
    main_before = bare.branch_sha("main")

    snapshot = provider.merge_snapshot(repo, number)
    outcome = provider.merge(repo, snapshot, "Raise the IMAP login timeout (!1)", "Fixes abc123def456.")

    assert snapshot.head_sha == user_repo.head and snapshot.pull.checks == "passing"
    assert snapshot.mergeable is True and not snapshot.files_truncated and snapshot.diff_read
    assert [(f.path, f.additions, f.deletions, f.binary) for f in snapshot.files] == [
        ("worker/imap.py", 1, 1, False)
    ]
    [(_, _, sent)] = [b for b in fake_gitlab.bodies if b[0] == "PUT"]
    assert sent["sha"] == user_repo.head and sent["squash"] is True
    assert (outcome.before_sha, outcome.method) == (main_before, "squash")
    assert bare.branch_sha("main") == outcome.after_sha != main_before
    assert bare.git("log", "-1", "--format=%s", "main").strip() == "Raise the IMAP login timeout (!1)"
    assert provider.get(repo, number).status == "merged"
    after = provider.merge_snapshot(repo, number)
    assert not after.diff_read and after.notes == ["it is merged"]


def test_a_project_that_never_squashes_gets_a_merge_commit(
    provider: GitLabProvider, fake_gitlab: FakeGitLab, repo: RepoConfig, user_repo: UserRepo
) -> None:
    """`squash_option = never`: GitLab refuses a squash (422), so the merge is a merge commit instead."""
    number = _opened(provider, repo, user_repo)
    fake_gitlab.mrs(PROJECT)[0]["title"] = "Raise the IMAP login timeout to 60s"
    fake_gitlab.add_pipeline(PROJECT, user_repo.head, "success", ref=BRANCH)
    bare = fake_gitlab.projects[PROJECT]
    bare.squash_option = "never"
    main_before = bare.branch_sha("main")

    outcome = provider.merge(
        repo, provider.merge_snapshot(repo, number), "Raise the timeout (!1)", "Fixes it."
    )

    [(_, _, sent)] = [b for b in fake_gitlab.bodies if b[0] == "PUT"]
    assert sent["squash"] is False
    assert (outcome.before_sha, outcome.method) == (main_before, "merge")
    assert bare.branch_sha("main") == outcome.after_sha
    parents = bare.git("log", "-1", "--format=%P", "main").split()
    assert parents == [main_before, user_repo.head]  # a merge commit of the evaluated head
    assert provider.get(repo, number).status == "merged"


def test_merge_refused_when_the_head_moved(
    provider: GitLabProvider, fake_gitlab: FakeGitLab, repo: RepoConfig, user_repo: UserRepo
) -> None:
    number = _opened(provider, repo, user_repo)
    fake_gitlab.mrs(PROJECT)[0]["title"] = "Ready"
    snapshot = provider.merge_snapshot(repo, number)
    bare = fake_gitlab.projects[PROJECT]
    main_before = bare.branch_sha("main")
    moved = bare.git("commit-tree", f"{user_repo.head}^{{tree}}", "-p", user_repo.head, "-m", "more").strip()
    bare.git("update-ref", f"refs/heads/{BRANCH}", moved)

    with pytest.raises(ToolInputError) as caught:
        provider.merge(repo, snapshot, "t", "m")
    assert "moved" in str(caught.value) and "nothing was merged" in str(caught.value)
    assert fake_gitlab.count("PUT", MRS + r"/\d+/merge") == 0 and bare.branch_sha("main") == main_before

    # the head moves between our check and the merge: GitLab's own `sha` check refuses it (409)
    fresh = provider.merge_snapshot(repo, number)
    fake_gitlab.inject(
        "PUT", MRS + r"/1/merge", 409, {"message": "SHA does not match HEAD of source branch: 1234"}
    )
    with pytest.raises(ToolInputError) as refused:
        provider.merge(repo, fresh, "t", "m")
    assert "refused to merge" in str(refused.value) and "409" in str(refused.value)
    assert bare.branch_sha("main") == main_before and provider.get(repo, number).status == "open"


def test_draft_mr_is_not_mergeable_and_gitlab_refuses(
    provider: GitLabProvider, fake_gitlab: FakeGitLab, repo: RepoConfig, user_repo: UserRepo
) -> None:
    number = _opened(provider, repo, user_repo)
    snapshot = provider.merge_snapshot(repo, number)
    assert snapshot.mergeable is False and "draft_status" in " ".join(snapshot.notes)
    with pytest.raises(ToolInputError, match="405"):
        provider.merge(repo, snapshot, "t", "m")


def test_changes_endpoint_before_gitlab_15_7(
    provider: GitLabProvider, fake_gitlab: FakeGitLab, repo: RepoConfig, user_repo: UserRepo
) -> None:
    fake_gitlab.diffs_endpoint = False
    number = _opened(provider, repo, user_repo)
    snapshot = provider.merge_snapshot(repo, number)
    assert [(f.path, f.additions, f.deletions) for f in snapshot.files] == [("worker/imap.py", 1, 1)]
    assert fake_gitlab.count("GET", MRS + r"/1/changes") == 1


def test_errors_are_clear_and_never_carry_the_token(
    fake_gitlab: FakeGitLab, repo: RepoConfig, user_repo: UserRepo, tmp_path: Path
) -> None:
    wrong = "glpat-" + "W" * 20
    bad = GitLabProvider(wrong, fake_gitlab.base_url + "/api/v4/", policy=FAST)
    with pytest.raises(UnavailableError) as rejected:
        bad.page(repo, "open", None, 10)
    with pytest.raises(UnavailableError) as push_refused:
        bad.push(repo, BRANCH)
    missing = GitLabProvider(None, fake_gitlab.base_url, policy=FAST)
    with pytest.raises(UnavailableError) as no_token:
        missing.count_open([repo])

    good = GitLabProvider(TOKEN, fake_gitlab.base_url, policy=FAST)
    with pytest.raises(NotFoundError) as no_project:
        good.page(RepoConfig(name="w", path=user_repo.path, github="acme/nothing"), "open", None, 10)
    with pytest.raises(NotFoundError) as no_mr:
        good.get(repo, 42)
    sent_before = fake_gitlab.count("GET", MRS)
    fake_gitlab.inject(
        "GET", MRS, 503, {"message": "503 Service Unavailable"}, headers={"Retry-After": "0"}, times=10
    )
    with pytest.raises(UnavailableError) as down:
        good.page(repo, "open", None, 10)
    with pytest.raises(ToolInputError) as unset:
        project_path(RepoConfig(name="plain", path=user_repo.path))

    assert "rejected the token" in str(rejected.value) and "401 Unauthorized" in str(rejected.value)
    assert "write_repository" in str(push_refused.value)
    assert "no GitLab token is set" in str(no_token.value)
    assert "acme/nothing" in str(no_project.value) and "!42" in str(no_mr.value)
    assert "failed 4 times" in str(down.value) and "503" in str(down.value)
    assert fake_gitlab.count("GET", MRS) - sent_before == 4
    assert "project" in str(unset.value) and "plain" in str(unset.value)
    texts = [str(e.value) for e in (rejected, push_refused, no_token, no_project, no_mr, down)]
    assert all(wrong not in t and TOKEN not in t for t in texts)
    assert ("oauth2", False) in fake_gitlab.git_logins
    for made in (bad, missing, good):
        made.close()


def test_nested_group_project_of_a_gitlab_repo(
    fake_gitlab: FakeGitLab, provider: GitLabProvider, user_repo: UserRepo, github_remote: Path
) -> None:
    if "project" not in RepoConfig.model_fields:
        pytest.skip("RepoConfig has no `project` field yet (only `github`)")
    fake_gitlab.add_project("acme/backend/worker", github_remote)
    nested = RepoConfig.model_validate(
        {"name": "worker", "path": user_repo.path, "forge": "gitlab", "project": "acme/backend/worker"}
    )
    shown = provider.push(nested, BRANCH)
    opened = provider.create(_draft(nested, user_repo.head), "run-1")
    assert shown.endswith("/acme/backend/worker.git") and opened.number == 1
    assert fake_gitlab.count("POST", r"/api/v4/projects/acme%2Fbackend%2Fworker/merge_requests") == 1
    assert provider.get(nested, 1).signature == SIGNATURE
