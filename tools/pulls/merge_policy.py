"""The low-risk auto-merge policy as pure data and functions: the facts about a pull request, the rules,
and an evaluation that explains every rule. No git, no provider, no database: test it with plain values.

The policy is the `[auto_merge]` table of the config (`merge_config.AutoMergePolicy`, Settings.auto_merge).
A pull request is merged only when every rule passes; the rules are evaluated all at once so a refusal
names each one that failed:

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

The path predicates are in `merge_paths.py`. Acting on an evaluation (reading the pull request through
its provider, merging exactly the evaluated head, auditing, reverting) is `merger.py`, reached through
`PullRequestService.merge_pull_request` / `.open_revert_pull_request` / `.revert_if_worse`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, Field

from .marker import LABEL
from .merge_config import AutoMergePolicy
from .merge_paths import is_dependency_or_ci, is_test_path, path_allowed
from .models import Checks, Status
from .providers.base import FileChange, MergeSnapshot

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
    "PolicyEvaluation",
    "PullFacts",
    "RuleResult",
    "evaluate_merge_policy",
    "is_dependency_or_ci",
    "is_test_path",
    "path_allowed",
]


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
