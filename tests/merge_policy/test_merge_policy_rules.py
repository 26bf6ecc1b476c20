"""The auto-merge policy as a pure function: each rule failing alone, all passing; config and annotations."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from mcp import Client
from self_improver.server.app import ALL_TOOLSETS, build_server
from self_improver.server.config import load_settings
from self_improver.server.registry import DESTRUCTIVE_REMOTE
from self_improver.tools.pulls.merge_policy import (
    AutoMergePolicy,
    FileChange,
    PullFacts,
    evaluate_merge_policy,
    is_dependency_or_ci,
    is_test_path,
    path_allowed,
)

POLICY = AutoMergePolicy(enabled=True, allowed_paths=["worker/", "tests/", "docs/*.md"])
GOOD = PullFacts(
    labels=["self-improver", "bug"],
    files=[FileChange("worker/imap.py", 1, 1), FileChange("tests/test_imap.py", 4, 0)],
)
ALL_RULES = [
    "policy_enabled",
    "labelled_self_improver",
    "open",
    "ready_for_review",
    "targets_default_branch",
    "checks_passing",
    "no_conflicts",
    "max_files",
    "max_changed_lines",
    "allowed_paths",
    "no_dependency_or_ci_changes",
    "changes_a_test",
]


def test_a_small_tested_pull_request_passes_every_rule() -> None:
    evaluation = evaluate_merge_policy(POLICY, GOOD)
    assert evaluation.allowed and evaluation.failed == []
    assert [r.rule for r in evaluation.rules] == ALL_RULES and all(r.passed for r in evaluation.rules)


def _files(*paths: str, lines: int = 1) -> list[FileChange]:
    return [FileChange(p, lines, 0) for p in paths]


@pytest.mark.parametrize(
    ("rule", "policy", "facts", "says"),
    [
        ("policy_enabled", AutoMergePolicy(allowed_paths=["worker/", "tests/"]), GOOD, "disabled"),
        ("labelled_self_improver", POLICY, replace(GOOD, labels=["bug"]), "not labelled"),
        ("open", POLICY, replace(GOOD, status="closed"), "is closed"),
        ("ready_for_review", POLICY, replace(GOOD, draft=True), "mark it ready"),
        ("targets_default_branch", POLICY, replace(GOOD, base="release"), "'release'"),
        ("checks_passing", POLICY, replace(GOOD, checks="failing"), "checks are failing"),
        ("checks_passing", POLICY, replace(GOOD, checks="pending"), "checks are pending"),
        ("checks_passing", POLICY, replace(GOOD, checks="none"), "no checks reported"),
        ("no_conflicts", POLICY, replace(GOOD, mergeable=False), "conflicts"),
        (
            "max_files",
            POLICY,
            replace(GOOD, files=_files("worker/a.py", "worker/b.py", "worker/c.py", "tests/test_a.py")),
            "4 changed paths, more than max_files=3",
        ),
        ("max_files", POLICY, replace(GOOD, files_truncated=True), "more than 2 changed paths"),
        (
            "max_changed_lines",
            POLICY,
            replace(
                GOOD, files=[FileChange("worker/imap.py", 40, 20), FileChange("tests/test_imap.py", 1, 0)]
            ),
            "61 changed lines",
        ),
        (
            "max_changed_lines",
            POLICY,
            replace(GOOD, files=[*GOOD.files, FileChange("worker/logo.png", binary=True)]),
            "binary",
        ),
        (
            "allowed_paths",
            POLICY,
            replace(GOOD, files=[*GOOD.files, FileChange("billing/charge.py", 1, 0)]),
            "not in allowed_paths: billing/charge.py",
        ),
        ("allowed_paths", AutoMergePolicy(enabled=True), GOOD, "allowed_paths is empty"),
        (
            "changes_a_test",
            POLICY,
            replace(GOOD, files=[FileChange("worker/imap.py", 1, 1)]),
            "no test added or changed",
        ),
        (
            "changes_a_test",
            POLICY,
            replace(GOOD, files=[FileChange("worker/imap.py", 1, 1), FileChange("tests/test_imap.py", 0, 9)]),
            "only deleted",
        ),
    ],
)
def test_each_rule_failing_alone_is_named_with_its_reason(rule, policy, facts, says) -> None:
    evaluation = evaluate_merge_policy(policy, facts)
    assert not evaluation.allowed
    assert evaluation.failed == [rule]
    [failed] = [r for r in evaluation.rules if not r.passed]
    assert says in failed.detail


def test_an_unread_diff_fails_every_rule_about_the_diff() -> None:
    evaluation = evaluate_merge_policy(
        POLICY, replace(GOOD, status="merged", diff_read=False, notes=["it is merged"])
    )
    assert evaluation.failed == ["open", *ALL_RULES[6:]]
    assert all("not checked: the diff was not read (it is merged)" == r.detail for r in evaluation.rules[6:])


@pytest.mark.parametrize(
    "path",
    [
        "pyproject.toml",
        "requirements-dev.txt",
        "svc/requirements.txt",
        "setup.cfg",
        "Pipfile.lock",
        "poetry.lock",
        "web/package.json",
        "yarn.lock",
        "go.sum",
        "Cargo.toml",
        ".github/workflows/ci.yml",
        ".gitlab-ci.yml",
        "Jenkinsfile",
        "Dockerfile.prod",
        "Makefile",
        "tox.ini",
        "noxfile.py",
        ".pre-commit-config.yaml",
    ],
)
def test_dependency_and_ci_files_fail_even_when_allow_listed(path) -> None:
    facts = replace(GOOD, files=[*GOOD.files[:1], FileChange(path, 1, 0), GOOD.files[1]])
    evaluation = evaluate_merge_policy(AutoMergePolicy(enabled=True, allowed_paths=["*"]), facts)
    assert evaluation.failed == ["no_dependency_or_ci_changes"] and is_dependency_or_ci(path)


def test_path_helpers() -> None:
    assert all(is_test_path(p) for p in ("tests/test_a.py", "pkg/tests/x.py", "test_b.py", "a/c_test.py"))
    assert not any(is_test_path(p) for p in ("worker/testing.py", "contest.py", "worker/imap.py"))
    assert not any(is_dependency_or_ci(p) for p in ("worker/imap.py", "docs/setup.md", "tests/test_make.py"))
    patterns = ["worker/", "src/**/*.py", "*.md"]
    assert path_allowed("worker/deep/x.py", patterns) == "worker/"
    assert path_allowed("src/a.py", patterns) == path_allowed("src/a/b.py", patterns) == "src/**/*.py"
    assert path_allowed("notes/readme.md", patterns) == "*.md"
    assert path_allowed("workers/x.py", patterns) is None and path_allowed("Worker/x.py", patterns) is None


def test_policy_is_off_by_default_and_read_from_the_config_table(tmp_path: Path) -> None:
    assert load_settings(None, data_dir=tmp_path).auto_merge == AutoMergePolicy()
    assert not AutoMergePolicy().enabled and AutoMergePolicy().allowed_paths == []
    assert (AutoMergePolicy().max_files, AutoMergePolicy().max_changed_lines) == (3, 60)
    config = tmp_path / "config.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\n\n[auto_merge]\nenabled = true\nmax_files = 2\nallowed_paths = ["worker/"]\n'
    )
    policy = load_settings(config).auto_merge
    assert (policy.enabled, policy.max_files, policy.max_changed_lines, policy.allowed_paths) == (
        True,
        2,
        60,
        ["worker/"],
    )
    config.write_text("[auto_merge]\nenable = true\n")
    with pytest.raises(ValueError, match="enable"):
        load_settings(config)


async def test_merge_tool_is_destructive_and_gone_when_read_only(make_settings) -> None:
    declared = {spec.name: spec.annotations for spec in ALL_TOOLSETS["github"].tools}
    assert declared["merge_pull_request"] == DESTRUCTIVE_REMOTE
    hints = declared["merge_pull_request"]
    assert (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint, hints.open_world_hint) == (
        False,
        True,
        False,
        True,
    )
    async with Client(build_server(make_settings(read_only=True, toolsets=["github"]))) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert "merge_pull_request" not in names and "list_pull_requests" in names
