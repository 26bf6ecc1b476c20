"""Low-risk auto-merge, off by default: a policy, a pure evaluation that explains every rule, the merge,
its audit trail, and a revert pull request when a merged fix made things worse.

The policy is the `[auto_merge]` table of the config (Settings.auto_merge). A pull request is merged only
when every rule passes; the rules are evaluated all at once so a refusal names each one that failed:

    policy_enabled                 [auto_merge] enabled = true
    labelled_self_improver         it carries the `self-improver` label
    open                           it is open (not merged, not closed)
    ready_for_review               it is not a draft
    targets_default_branch         its base is the repo's default_branch
    checks_passing                 commit statuses and check runs of its head all passed (local: recorded)
    no_conflicts                   it merges cleanly into the default branch
    max_files                      it changes at most max_files paths (a rename counts twice)
    max_changed_lines              added + deleted lines at most max_changed_lines, no binary file
    allowed_paths                  every path matches an allowed_paths glob (empty: nothing is allowed)
    no_dependency_or_ci_changes    no dependency manifest, lock file, build or CI file (a fixed list)
    changes_a_test                 it adds lines to a test (under tests/, test_*.py, *_test.py, ...)

`evaluate_merge_policy(policy, facts)` is pure. `merge_pull_request` gathers the facts through the
provider (GitHub: the pull request, its files and the checks of its head; local: the branch on the
configured remote), evaluates, and only then merges exactly the head it evaluated: GitHub squash-merges
with `sha=<head>`; the local provider writes a merge commit onto the remote's default branch from a
scratch repository (`merge.py`), never the user's checkout. Every attempt, merged, refused or failed,
is a row of `merge_audit` in pulls.db.

`open_revert_pull_request` is for the nightly job: when the impact verdict of a pull request *we*
merged is `worse`, it opens `self-improver/revert-<n>` (labels self-improver + revert) from the
remote's default branch, built in a worktree of the scratch repository. Call both through
`PullRequestService` (it serialises them with opens); the functions here take the service.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel, Field

from ..support.problems import ToolInputError, UnavailableError
from . import git, merge
from .marker import BRANCH_PREFIX, LABEL, marker
from .merge import MergeAudit, MergeAuditEntry
from .merge_config import AutoMergePolicy
from .models import Checks, OpenedPullRequest, PullRequest, Status
from .providers.base import FileChange, MergeSnapshot, PullDraft, PullProvider
from .providers.local import utc_text

if TYPE_CHECKING:
    from .service import PullRequestService

log = logging.getLogger(__name__)

REVERT_LABEL = "revert"
MAX_NAMED = 8  # paths named in one rule's detail
DIFF_RULES = frozenset(
    {
        "no_conflicts",
        "max_files",
        "max_changed_lines",
        "allowed_paths",
        "no_dependency_or_ci_changes",
        "changes_a_test",
    }
)

__all__ = [
    "AutoMergePolicy",
    "FileChange",
    "MergeAuditEntry",
    "MergeResult",
    "PolicyEvaluation",
    "PullFacts",
    "RuleResult",
    "evaluate_merge_policy",
    "is_dependency_or_ci",
    "is_test_path",
    "merge_audit",
    "merge_pull_request",
    "open_revert_pull_request",
    "path_allowed",
    "revert_if_worse",
]


# -- the policy ---------------------------------------------------------------------------------------


# Fixed: dependency manifests, lock files, build and CI configuration, matched case-insensitively at any depth.
DEPENDENCY_AND_CI_NAMES = (
    "requirements*.txt",
    "requirements*.in",
    "constraints*.txt",
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "pipfile",
    "pipfile.lock",
    "*.lock",
    "poetry.lock",
    "environment.yml",
    "environment.yaml",
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "pnpm-workspace.yaml",
    ".npmrc",
    "go.mod",
    "go.sum",
    "go.work",
    "cargo.toml",
    "cargo.lock",
    "gemfile",
    "*.gemspec",
    "composer.json",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "settings.gradle",
    "settings.gradle.kts",
    "dockerfile",
    "dockerfile.*",
    "*.dockerfile",
    "containerfile",
    "docker-compose*.yml",
    "docker-compose*.yaml",
    "compose.yml",
    "compose.yaml",
    "makefile",
    "gnumakefile",
    "*.mk",
    "tox.ini",
    "noxfile.py",
    ".pre-commit-config.yaml",
    ".pre-commit-hooks.yaml",
    "jenkinsfile",
    ".gitlab-ci.yml",
    ".travis.yml",
    "azure-pipelines.yml",
    "bitbucket-pipelines.yml",
    ".drone.yml",
    "appveyor.yml",
    ".gitmodules",
    "codeowners",
)
DEPENDENCY_AND_CI_DIRS = (
    ".github",
    ".gitlab",
    ".circleci",
    ".buildkite",
    ".azure-pipelines",
    ".devcontainer",
    "requirements",
    ".git",
)
TEST_DIRS = ("tests", "test", "__tests__")
TEST_NAMES = (
    "test_*.py",
    "*_test.py",
    "*_test.go",
    "*.test.js",
    "*.test.jsx",
    "*.test.ts",
    "*.test.tsx",
    "*.spec.js",
    "*.spec.ts",
    "*_spec.rb",
)


def is_dependency_or_ci(path: str) -> bool:
    parts = path.lower().split("/")
    return any(d in parts[:-1] for d in DEPENDENCY_AND_CI_DIRS) or any(
        fnmatchcase(parts[-1], name) for name in DEPENDENCY_AND_CI_NAMES
    )


def is_test_path(path: str) -> bool:
    parts = path.split("/")
    return any(d in parts[:-1] for d in TEST_DIRS) or any(fnmatchcase(parts[-1], n) for n in TEST_NAMES)


def path_allowed(path: str, patterns: list[str]) -> str | None:
    """The allowed_paths pattern `path` matches (case-sensitive), or None.

    'dir/' allows everything under that directory of the root; a pattern with '/' matches the whole
    path ('*' crosses '/', 'src/**/*.py' also matches 'src/a.py'); a bare pattern matches the file name.
    """
    for raw in patterns:
        pattern = raw.strip().removeprefix("./").lstrip("/")
        if not pattern:
            continue
        if pattern.endswith("/"):
            if path.startswith(pattern):
                return raw
        elif "/" in pattern:
            if fnmatchcase(path, pattern) or fnmatchcase(path, pattern.replace("**/", "")):
                return raw
        elif fnmatchcase(path.rsplit("/", 1)[-1], pattern):
            return raw
    return None


# -- evaluation (pure) --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PullFacts:
    """Everything the rules look at, read just before deciding."""

    labels: list[str] = field(default_factory=lambda: [LABEL])
    status: Status = "open"
    draft: bool = False
    base: str = "main"
    default_branch: str = "main"
    checks: Checks = "passing"
    files: list[FileChange] = field(default_factory=list)
    files_truncated: bool = False  # more files than were read: certainly above max_files
    mergeable: bool | None = True
    notes: list[str] = field(default_factory=list)  # e.g. why checks count as pending
    diff_read: bool = True  # False: the files were not read (not open), so the diff rules cannot pass

    @classmethod
    def from_snapshot(cls, snapshot: MergeSnapshot, default_branch: str) -> PullFacts:
        pull = snapshot.pull
        return cls(
            labels=list(pull.labels),
            status=pull.status,
            draft=pull.draft,
            base=pull.base,
            default_branch=default_branch,
            checks=pull.checks,
            files=list(snapshot.files),
            files_truncated=snapshot.files_truncated,
            mergeable=snapshot.mergeable,
            notes=list(snapshot.notes),
            diff_read=snapshot.diff_read,
        )


class RuleResult(BaseModel):
    rule: str
    passed: bool
    detail: str = Field(description="What was found; for a failed rule, what to change.")


class PolicyEvaluation(BaseModel):
    allowed: bool = Field(description="True only when every rule passed.")
    failed: list[str] = Field(description="Names of the rules that failed.")
    rules: list[RuleResult] = Field(description="Every rule, in order, passed or not.")


def _names(paths: list[str]) -> str:
    shown = ", ".join(paths[:MAX_NAMED])
    return shown + (f" and {len(paths) - MAX_NAMED} more" if len(paths) > MAX_NAMED else "")


def evaluate_merge_policy(policy: AutoMergePolicy, facts: PullFacts) -> PolicyEvaluation:
    """Every rule of the module docstring, each with what it saw; allowed only when all passed."""
    rules: list[RuleResult] = []

    def rule(name: str, passed: bool, ok: str, failed: str) -> None:
        rules.append(RuleResult(rule=name, passed=passed, detail=ok if passed else failed))

    paths = [f.path for f in facts.files]
    rule(
        "policy_enabled",
        policy.enabled,
        "auto-merge is enabled",
        "auto-merge is disabled: a person must merge it, or enable [auto_merge] in the config",
    )
    rule(
        "labelled_self_improver",
        LABEL in facts.labels,
        f"labelled {LABEL!r}",
        f"not labelled {LABEL!r} (labels: {', '.join(facts.labels) or 'none'}): only pull requests "
        "self-improver opened are merged automatically",
    )
    rule(
        "open",
        facts.status == "open",
        "open",
        f"the pull request is {facts.status}: only open pull requests can be merged",
    )
    rule(
        "ready_for_review",
        not facts.draft,
        "not a draft",
        "it is a draft: a person must mark it ready for review first",
    )
    rule(
        "targets_default_branch",
        facts.base == facts.default_branch,
        f"merges into {facts.default_branch!r}",
        f"it merges into {facts.base!r}, not the default branch {facts.default_branch!r}",
    )
    notes = f" ({'; '.join(facts.notes)})" if facts.notes else ""
    rule(
        "checks_passing",
        facts.checks == "passing",
        "all checks passed",
        f"checks are {facts.checks}{notes}: merge only after every status and check run passed"
        if facts.checks != "none"
        else f"no checks reported{notes}: CI must run and pass before an automatic merge",
    )
    rule(
        "no_conflicts",
        facts.mergeable is not False,
        "merges cleanly" if facts.mergeable else "not known yet; the merge itself refuses a conflict",
        "it conflicts with the default branch: rebase the branch or apply the fix again",
    )
    count = f"more than {len(paths)}" if facts.files_truncated else str(len(paths))
    rule(
        "max_files",
        bool(paths) and not facts.files_truncated and len(paths) <= policy.max_files,
        f"{len(paths)} changed path(s), at most {policy.max_files}",
        "no changed files" if not paths else f"{count} changed paths, more than max_files={policy.max_files}",
    )
    lines = sum(f.changed_lines for f in facts.files)
    binary = [f.path for f in facts.files if f.binary]
    rule(
        "max_changed_lines",
        lines <= policy.max_changed_lines and not binary,
        f"{lines} changed line(s), at most {policy.max_changed_lines}",
        f"binary file(s) changed ({_names(binary)}): their size cannot be judged"
        if binary
        else f"{lines} changed lines, more than max_changed_lines={policy.max_changed_lines}",
    )
    outside = [p for p in paths if path_allowed(p, policy.allowed_paths) is None]
    rule(
        "allowed_paths",
        bool(policy.allowed_paths) and not outside,
        "every path is allow-listed",
        "allowed_paths is empty, so no path may be merged automatically: configure [auto_merge] allowed_paths"
        if not policy.allowed_paths
        else f"not in allowed_paths: {_names(outside)}",
    )
    dependency = [p for p in paths if is_dependency_or_ci(p)]
    rule(
        "no_dependency_or_ci_changes",
        not dependency,
        "no dependency, build or CI file changed",
        f"changes dependency, build or CI files ({_names(dependency)}): these always need a person",
    )
    tests = [f.path for f in facts.files if is_test_path(f.path)]
    added = [f.path for f in facts.files if is_test_path(f.path) and f.additions > 0 and not f.binary]
    rule(
        "changes_a_test",
        bool(added),
        f"adds or changes test(s): {_names(added)}",
        f"test files are only deleted from ({_names(tests)}): removing tests does not count"
        if tests
        else "no test added or changed: add a test (under tests/, or test_*.py / *_test.py) that fails "
        "without the fix",
    )
    if not facts.diff_read:
        unread = f"not checked: the diff was not read ({'; '.join(facts.notes) or 'not open'})"
        rules = [
            RuleResult(rule=r.rule, passed=False, detail=unread) if r.rule in DIFF_RULES else r for r in rules
        ]
    failed = [r.rule for r in rules if not r.passed]
    return PolicyEvaluation(allowed=not failed, failed=failed, rules=rules)


# -- the merge ----------------------------------------------------------------------------------------


class MergeResult(BaseModel):
    repo: str
    number: int
    provider: Literal["github", "local"]
    merged: bool = Field(description="True only when the default branch now contains the change.")
    evaluation: PolicyEvaluation
    pull_request: PullRequest = Field(description="The pull request as it is now.")
    head_sha: str | None = Field(description="The head commit that was evaluated (and merged).")
    default_branch: str
    before_sha: str | None = Field(description="The default branch before the merge (null: not merged).")
    merge_commit: str | None = Field(description="The default branch after the merge (null: not merged).")
    audit: MergeAuditEntry = Field(description="This attempt's row in the merge audit trail.")
    history: list[MergeAuditEntry] = Field(
        description="Earlier audit rows of this pull request (attempts, reverts), newest first."
    )
    note: str | None = None


def merge_audit(service: PullRequestService) -> MergeAudit:
    """The audit trail of merges and reverts (table `merge_audit` in data_dir/pulls.db)."""
    return MergeAudit(service.records.path)


async def merge_pull_request(
    service: PullRequestService,
    repo: str,
    number: int,
    policy: AutoMergePolicy,
    actor: str = "self-improver",
) -> MergeResult:
    """Evaluate the policy on the pull request as it is now; merge only when every rule passes.

    A refusal is a result (merged=false, the evaluation), not an error, and is audited like a merge.
    Errors reading or merging are audited as 'failed' and raised.
    """
    cfg = service.repo_config(repo)
    provider = service.provider_for(cfg)
    audit = await asyncio.to_thread(merge_audit, service)
    at = utc_text(service.now())
    actor = (actor or "").strip()[:200] or "self-improver"

    def record(**values: object) -> MergeAuditEntry:
        return audit.record(
            at=at,
            actor=actor,
            action="merge",
            provider=provider.name,
            repo=cfg.name,
            number=number,
            branch=cfg.default_branch,
            **values,  # type: ignore[arg-type]
        )

    history = await asyncio.to_thread(
        lambda: audit.entries(repo=cfg.name, number=number, provider=provider.name, limit=10)
    )
    try:
        snapshot = await asyncio.to_thread(provider.merge_snapshot, cfg, number)
    except (ToolInputError, UnavailableError) as exc:
        await asyncio.to_thread(record, outcome="failed", detail=f"not evaluated: {exc}")
        raise
    evaluation = evaluate_merge_policy(policy, PullFacts.from_snapshot(snapshot, cfg.default_branch))
    pull = snapshot.pull

    def result(entry: MergeAuditEntry, **values: object) -> MergeResult:
        return MergeResult(
            repo=cfg.name,
            number=number,
            provider=provider.name,
            evaluation=evaluation,
            head_sha=snapshot.head_sha,
            default_branch=cfg.default_branch,
            audit=entry,
            history=history,
            **values,  # type: ignore[arg-type]
        )

    if not evaluation.allowed:
        failed = [f"{r.rule}: {r.detail}" for r in evaluation.rules if not r.passed]
        entry = await asyncio.to_thread(
            record,
            outcome="refused",
            head_sha=snapshot.head_sha,
            failed_rules=failed,
            detail=f"not merged: {len(failed)} rule(s) failed",
        )
        log.info("refused to merge #%d in %s: %s", number, cfg.name, ", ".join(evaluation.failed))
        return result(
            entry,
            merged=False,
            pull_request=pull,
            before_sha=None,
            merge_commit=None,
            note=f"not merged: {', '.join(evaluation.failed)} failed; nothing changed",
        )

    title = f"{pull.title} (#{number})"
    message = (
        f"{title}\n\nMerged by self-improver's auto-merge policy at the request of {actor}: "
        f"{len(snapshot.files)} file(s), {sum(f.changed_lines for f in snapshot.files)} line(s), "
        f"checks passing, a test changed.\nPull request: {pull.url}\n"
    )
    try:
        outcome = await asyncio.to_thread(provider.merge, cfg, snapshot, title, message)
    except (ToolInputError, UnavailableError) as exc:
        await asyncio.to_thread(
            record, outcome="failed", head_sha=snapshot.head_sha, detail=f"merge failed: {exc}"
        )
        raise
    entry = await asyncio.to_thread(
        record,
        outcome="merged",
        head_sha=snapshot.head_sha,
        before_sha=outcome.before_sha,
        after_sha=outcome.after_sha,
        detail=f"{outcome.method} of {snapshot.head_sha} into {cfg.default_branch}"
        + (f"; {outcome.note}" if outcome.note else ""),
    )
    log.info("merged #%d in %s as %s", number, cfg.name, outcome.after_sha)
    now = await asyncio.to_thread(provider.get, cfg, number)
    note = await _record_merged(service, provider, now)
    return result(
        entry,
        merged=True,
        pull_request=now,
        before_sha=outcome.before_sha,
        merge_commit=outcome.after_sha,
        note=" ".join(n for n in (outcome.note, note) if n) or None,
    )


async def _record_merged(
    service: PullRequestService, provider: PullProvider, pull: PullRequest
) -> str | None:
    """Record the new state and let the sync write pr_status='merged' into the linked findings."""
    if provider.name != "local":
        await asyncio.to_thread(service.records.record, provider.name, pull)
    try:
        synced = await service.sync_pull_requests(pull.repo)
    except (ToolInputError, UnavailableError) as exc:
        return f"memory was not updated ({exc}): call sync_pull_requests"
    return synced.note


# -- the revert ---------------------------------------------------------------------------------------


class VerdictLike(Protocol):
    """What the revert needs of a verdict; insights' ImpactResult has it all."""

    @property
    def verdict(self) -> str: ...

    @property
    def reason(self) -> str: ...

    @property
    def signature(self) -> str: ...

    @property
    def pr_number(self) -> int | None: ...

    @property
    def merged_at(self) -> str: ...

    @property
    def memory_finding_id(self) -> str | None: ...


def revert_branch(number: int) -> str:
    return f"{BRANCH_PREFIX}revert-{number}"


async def open_revert_pull_request(
    service: PullRequestService,
    repo: str,
    number: int,
    verdict: VerdictLike,
    actor: str = "self-improver",
) -> OpenedPullRequest:
    """Open a pull request that reverts #number, which self-improver merged and the verdict calls worse.

    Refused (ToolInputError) unless the verdict is `worse` and the merge_audit shows we merged it: what
    a person merged, a person decides. An open revert pull request is returned (deduplicated=true).
    The branch is made from the remote's default branch in a worktree under data_dir and pushed
    without force; the caps on opens do not apply to reverts.
    """
    cfg = service.repo_config(repo)
    provider = service.provider_for(cfg)
    if verdict.verdict != "worse":
        raise ToolInputError(
            f"the verdict for #{number} is {verdict.verdict!r}: only a 'worse' verdict opens a revert"
        )
    if verdict.pr_number is not None and verdict.pr_number != number:
        raise ToolInputError(f"the verdict is about pull request #{verdict.pr_number}, not #{number}")
    audit = await asyncio.to_thread(merge_audit, service)
    merged = await asyncio.to_thread(audit.merged_by_us, provider.name, cfg.name, number)
    if merged is None or not merged.after_sha:
        raise ToolInputError(
            f"pull request #{number} of {cfg.name!r} was not merged by self-improver (no merge in the merge "
            "audit): a person merged it, so a person decides about reverting it; flag it in the report"
        )
    branch = revert_branch(number)
    existing = await asyncio.to_thread(provider.find_open_by_head, cfg, branch)
    if existing is not None:
        return OpenedPullRequest(
            pull_request=existing,
            provider=provider.name,
            deduplicated=True,
            evidence_included=False,
            memory_updated=False,
            note=f"the revert pull request #{existing.number} is already open: returned it unchanged",
        )
    pull = await asyncio.to_thread(provider.get, cfg, number)
    remote, env = await asyncio.to_thread(provider.git_remote, cfg)
    scratch = await asyncio.to_thread(merge.scratch_repo, service.settings.data_dir, cfg.name)
    base = await asyncio.to_thread(
        merge.fetch_branch, scratch, remote, cfg.default_branch, f"revert-{number}/base", env
    )
    if base is None or not await asyncio.to_thread(merge.is_ancestor, scratch, merged.after_sha, base):
        raise ToolInputError(
            f"the merge of #{number} ({merged.after_sha[:12]}) is not on {cfg.default_branch!r} of the "
            "remote any more (history was rewritten?): a person has to look at it"
        )
    title = f"Revert #{number}: {pull.title}"[:256]
    signature = pull.signature or verdict.signature
    body = (
        f"Reverts #{number} ({pull.url}), which self-improver merged automatically at {merged.at} "
        f"(commit {merged.after_sha[:12]}, requested by {merged.actor}).\n\n"
        f"### Verdict: worse\n\n{verdict.reason}\n\n"
        f"- signature: `{verdict.signature}`, merged at {verdict.merged_at}\n"
        + (
            f"- verdict finding: `{verdict.memory_finding_id}` (see finding_history for the signature)\n"
            if verdict.memory_finding_id
            else ""
        )
        + f"- merge audit entry: {merged.id}\n\nMerge this to undo the change; nothing is merged "
        f"automatically.\n\n{marker(signature) if signature else ''}\n"
    )
    message = (
        f"{title}\n\nThe impact verdict after the merge is worse: {verdict.reason}\n\nReverts {pull.url}\n"
    )
    revert_sha = await asyncio.to_thread(merge.revert_commit, scratch, base, merged.after_sha, message)
    await asyncio.to_thread(merge.set_branch, scratch, branch, revert_sha)
    try:
        await asyncio.to_thread(git.push_branch, scratch, remote, branch, env)
    except git.PushRejected as exc:
        raise ToolInputError(
            f"the remote already has a branch {branch!r} with other commits (an earlier revert?), and nothing "
            "was force-pushed: look at it, delete it if it is stale, then try again"
        ) from exc
    draft = PullDraft(
        cfg, branch, revert_sha, title, body, signature or "", None, False, [LABEL, REVERT_LABEL]
    )
    created = await asyncio.to_thread(provider.create, draft, service.run_id)
    if provider.name != "local":
        await asyncio.to_thread(service.records.record, provider.name, created, service.run_id, revert_sha)
    await asyncio.to_thread(
        audit.record,
        at=utc_text(service.now()),
        actor=actor,
        action="revert",
        outcome="opened",
        provider=provider.name,
        repo=cfg.name,
        number=number,
        head_sha=revert_sha,
        branch=branch,
        before_sha=None,
        after_sha=revert_sha,
        detail=f"revert pull request #{created.number} ({created.url}) after verdict worse: {verdict.reason}",
    )
    log.info("opened revert pull request #%d for #%d in %s", created.number, number, cfg.name)
    return OpenedPullRequest(
        pull_request=created,
        provider=provider.name,
        deduplicated=False,
        pushed_to=merge.redact_remote(remote),
        evidence_included=False,
        memory_updated=False,
        note=f"reverts #{number}; a person reviews and merges it",
    )


async def revert_if_worse(
    service: PullRequestService, repo: str, number: int, verdict: VerdictLike, actor: str = "self-improver"
) -> OpenedPullRequest | None:
    """For the nightly job: open the revert when the verdict is worse and we merged #number, else None."""
    if verdict.verdict != "worse":
        return None
    cfg = service.repo_config(repo)
    provider = service.provider_for(cfg)
    audit = await asyncio.to_thread(merge_audit, service)
    if await asyncio.to_thread(audit.merged_by_us, provider.name, cfg.name, number) is None:
        return None
    return await service.open_revert_pull_request(repo, number, verdict, actor=actor)
