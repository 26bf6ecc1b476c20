"""Closing the loop without noise: the same diff is the same pull request, verdicts are commented once per
change, a pull request closed without merging mutes its signatures, and a dry run opens nothing."""

from __future__ import annotations

from pathlib import Path

from mcp import Client
from mcp_calls import call
from pull_requests.fake_github_api import FakeGitHub
from pull_requests.fake_gitlab_api import FakeGitLab
from pull_requests.git_setup import BRANCH, SIGNATURE, UserRepo, commit_on, git
from self_improver.server.app import build_server
from self_improver.server.config import Settings
from self_improver.server.context import AppResources
from self_improver.tools.code.repo_config import RepoConfig
from self_improver.tools.insights.results import FailureBreakdown, ImpactResult, RateComparison, WindowSpan
from self_improver.tools.pulls.diff_fingerprint import diff_fingerprint
from self_improver.tools.pulls.providers.gitlab import GitLabProvider
from self_improver.tools.pulls.retry import RetryPolicy

OTHER = "bbbbbbbbbbb2"
OTHER_BRANCH = f"self-improver/{OTHER}-same-timeout"
FIXED = "Fixed: 42 failures in 1,520 tasks before the merge, 0 in 1,610 after; the failure rate fell by at least 93% (95% interval)."


def impact(verdict: str, after: int = 0, low: float = 0.0, high: float | None = 0.07) -> ImpactResult:
    comparison = RateComparison(
        events_before=42,
        events_after=after,
        tasks_before=1520,
        tasks_after=1610,
        rate_before_per_1000=27.6,
        rate_after_per_1000=after / 1.61,
        rate_ratio=None if after == 0 else after / 42,
        ci_low=low,
        ci_high=high,
        verdict=verdict,  # type: ignore[arg-type]
        reason="No occurrence after the merge.",
    )
    span = WindowSpan(start="2026-02-01T00:00:00Z", end="2026-02-08T00:00:00Z", tasks=1520, failed=80)
    return ImpactResult(
        signature=SIGNATURE,
        title="TimeoutError: IMAP login",
        pr_number=1,
        merged_at="2026-02-08T00:00:00Z",
        agent=None,
        switch_at="2026-02-08T00:00:00Z",
        before=span,
        after=span,
        verdict=verdict,  # type: ignore[arg-type]
        reason="No occurrence after the merge.",
        signature_impact=comparison,
        failure_rate=comparison,
        failure_breakdown=FailureBreakdown(
            existing_signatures=comparison,
            new_signatures_after=0,
            new_signatures_rate_after_per_1000=0.0,
            new_signatures=[],
            unclustered_before=0,
            unclustered_after=0,
        ),
        marked_regressed=False,
        method="exact",
    )


async def _opened_number(settings: Settings) -> int:
    """Open the IMAP fix through a server of its own, as a host would; its pull request number."""
    async with Client(build_server(settings)) as client:
        return int((await _open(client))["pull_request"]["number"])


async def _open(client: Client, branch: str = BRANCH, signature: str = SIGNATURE, **extra: object) -> dict:
    return await call(
        client,
        "open_pull_request",
        repo="worker",
        branch=branch,
        title="Raise the IMAP login timeout to 60s",
        body="IMAP logins time out after 30s under load; this raises the limit.",
        signature=signature,
        **extra,
    )


def test_the_fingerprint_ignores_line_end_whitespace_and_hunk_line_numbers() -> None:
    one = "diff --git a/x b/x\nindex 1111111..2222222 100644\n--- a/x\n+++ b/x\n@@ -3 +3 @@\n-A = 1\n+A = 2\n"
    two = "diff --git a/x b/x\nindex 3333333..4444444 100644\n--- a/x\n+++ b/x\n@@ -9,1 +9,1 @@ def f():\n-A = 1 \n+A = 2\t\n"
    assert diff_fingerprint(one) == diff_fingerprint(two)
    assert diff_fingerprint(one) != diff_fingerprint(one.replace("+A = 2", "+A = 3"))


async def test_a_fix_with_the_same_diff_returns_the_open_pull_request_and_links_its_signature(
    local_settings, user_repo: UserRepo
) -> None:
    settings = local_settings()
    async with Client(build_server(settings)) as client:
        first = await _open(client)
        # main moves on (lines above the change), and the other fix has whitespace at a line end
        main = git(user_repo.path, "rev-parse", "refs/heads/main")
        header = "# IMAP settings\n# (see the runbook)\n"
        old = "TIMEOUT = 30\n\n\ndef login():\n    return TIMEOUT\n"
        moved = commit_on(user_repo.path, main, {"worker/imap.py": header + old}, "main", "notes")
        new = header + old.replace("TIMEOUT = 30", "TIMEOUT = 60   ")
        commit_on(user_repo.path, moved, {"worker/imap.py": new}, OTHER_BRANCH, "same fix")
        second = await _open(client, OTHER_BRANCH, OTHER)
        third = await _open(client, OTHER_BRANCH, OTHER)  # the linked signature now finds it directly
        listed = await call(client, "list_pull_requests", state="all")
    assert not first["deduplicated"]
    assert second["deduplicated"] and second["deduplicated_by"] == "same_diff"
    assert second["pull_request"]["number"] == first["pull_request"]["number"] == 1
    assert "same change" in second["note"] and f"signature {OTHER} is linked" in second["note"]
    assert third["deduplicated_by"] == "signature" and third["pull_request"]["number"] == 1
    assert listed["count"] == 1
    resources = AppResources.from_settings(settings)
    try:
        assert resources.pulls.ledger.linked_signatures("local", "worker", 1) == [OTHER]
    finally:
        await resources.close()


async def test_a_different_diff_still_opens_its_own_pull_request(local_settings, user_repo: UserRepo) -> None:
    main = git(user_repo.path, "rev-parse", "refs/heads/main")
    commit_on(user_repo.path, main, {"worker/imap.py": "TIMEOUT = 90\n"}, OTHER_BRANCH, "other fix")
    async with Client(build_server(local_settings())) as client:
        first = await _open(client)
        second = await _open(client, OTHER_BRANCH, OTHER)
    assert (first["pull_request"]["number"], second["pull_request"]["number"]) == (1, 2)
    assert not second["deduplicated"]


async def test_verdicts_are_commented_once_per_change_on_the_local_provider(local_settings) -> None:
    settings = local_settings()
    async with Client(build_server(settings)) as client:
        await _open(client)
    resources = AppResources.from_settings(settings)
    try:
        pulls = resources.pulls
        first = await pulls.post_verdict("worker", 1, impact("fixed"))
        again = await pulls.post_verdict("worker", 1, impact("fixed"))
        worse = await pulls.post_verdict("worker", 1, impact("worse", after=80, low=1.4, high=2.9))
        comments = pulls.local.comments(pulls.repo_config("worker"), 1)
    finally:
        await resources.close()
    assert first.posted and first.text.startswith(FIXED + "\n")
    assert not again.posted and "already posted" in (again.note or "")
    assert worse.posted and "(was 'fixed')" in (worse.note or "")
    assert worse.text.startswith(
        "Worse: 42 failures in 1,520 tasks before the merge, 80 in 1,610 after; the failure rate rose by "
        "at least 40% (95% interval)."
    )
    assert comments == [first.text, worse.text]


async def test_verdicts_are_issue_comments_on_github_once_per_change(
    github_settings, fake_github: FakeGitHub
) -> None:
    settings = github_settings()
    number = await _opened_number(settings)
    resources = AppResources.from_settings(settings)
    try:
        first = await resources.pulls.post_verdict("worker", number, impact("fixed"))
        again = await resources.pulls.post_verdict("worker", number, impact("fixed"))
    finally:
        await resources.close()
    comments = fake_github.repos["acme/worker"].comments[number]
    assert first.posted and not again.posted
    assert [c["body"] for c in comments] == [first.text]
    assert comments[0]["body"].startswith(FIXED)
    assert fake_github.count("POST", rf"/repos/acme/worker/issues/{number}/comments") == 1


def test_a_gitlab_note_is_posted_once_even_when_the_answer_is_lost(
    github_remote: Path, user_repo: UserRepo, tmp_path: Path
) -> None:
    token = "glpat-" + "T0kenForGitLab" * 2
    with FakeGitLab(token) as fake:
        fake.add_project("acme/worker", github_remote)
        provider = GitLabProvider(
            token, fake.base_url, data_dir=tmp_path / "gl", policy=RetryPolicy(attempts=3, base_delay=0.01)
        )
        repo = RepoConfig(name="worker", path=user_repo.path, github="acme/worker")
        try:
            from pull_requests.test_gitlab_provider import _opened

            number = _opened(provider, repo, user_repo)
            fake.inject(
                "POST", rf"/api/v4/projects/[^/]+/merge_requests/{number}/notes", status=502, after=True
            )
            provider.comment(repo, number, "Fixed: the note")
        finally:
            provider.close()
        notes = fake.projects["acme/worker"].notes[number]
    assert [n["body"] for n in notes] == ["Fixed: the note"]


async def test_a_pull_request_closed_without_merging_mutes_its_signatures(
    local_settings, user_repo: UserRepo
) -> None:
    settings = local_settings()
    main = git(user_repo.path, "rev-parse", "refs/heads/main")
    same = "TIMEOUT = 60\n\n\ndef login():\n    return TIMEOUT\n"
    commit_on(user_repo.path, main, {"worker/imap.py": same}, OTHER_BRANCH, "same fix")
    async with Client(build_server(settings)) as client:
        await _open(client)
        linked = await _open(client, OTHER_BRANCH, OTHER)
    resources = AppResources.from_settings(settings)
    try:
        await resources.pulls.set_local_state("worker", 1, "closed")
        synced = await resources.pulls.sync_pull_requests()
        again = await resources.pulls.sync_pull_requests()
        mutes = resources.errors.signatures.marks.mutes([SIGNATURE, OTHER])
    finally:
        await resources.close()
    assert linked["deduplicated_by"] == "same_diff"
    [change] = synced.changes
    assert (change.number, change.after, change.muted) == (1, "closed", [SIGNATURE, OTHER])
    assert again.changes == []
    assert {s: m.reason for s, m in mutes.items()} == {
        SIGNATURE: "PR #1 closed without merging",
        OTHER: "PR #1 closed without merging",
    }


async def test_a_github_pull_request_closed_without_merging_mutes_its_signature(
    github_settings, fake_github: FakeGitHub
) -> None:
    settings = github_settings()
    number = await _opened_number(settings)
    fake_github.set_state("acme/worker", number, "closed")
    async with Client(build_server(settings)) as client:
        synced = await call(client, "sync_pull_requests")
    resources = AppResources.from_settings(settings)
    try:
        mutes = resources.errors.signatures.marks.mutes([SIGNATURE])
    finally:
        await resources.close()
    assert [c["muted"] for c in synced["changes"]] == [[SIGNATURE]]
    assert mutes[SIGNATURE].reason == f"PR #{number} closed without merging"


async def test_a_dry_run_opens_nothing_on_github_and_says_what_it_would_open(
    github_settings, fake_github: FakeGitHub, github_remote: Path
) -> None:
    settings = github_settings(dry_run=True)
    async with Client(build_server(settings)) as client:
        result = await _open(client)
        listed = await call(client, "list_pull_requests", state="all")
    assert result["dry_run"] is True and result["pushed_to"] is None
    assert result["pull_request"]["number"] == 0 and "nothing was pushed or opened" in result["note"]
    preview = result
    assert result["pull_request"]["head"] == BRANCH and preview["diffstat"] == ["worker/imap.py +1 -1"]
    assert "### Evidence (generated by self-improver)" in preview["body"]
    assert result["pull_request"]["title"] == "Raise the IMAP login timeout to 60s"
    assert (
        fake_github.count("POST", r"/repos/acme/worker/pulls") == 0 and fake_github.pulls("acme/worker") == []
    )
    assert git(github_remote, "for-each-ref", "refs/heads/self-improver") == ""
    assert listed["count"] == 0
    resources = AppResources.from_settings(settings)
    try:
        post = await resources.pulls.post_verdict("worker", 1, impact("fixed"))
    finally:
        await resources.close()
    assert post.dry_run and not post.posted and post.text.startswith(FIXED)
    assert not any(m == "POST" for m, _, _ in fake_github.requests)
