"""What GitLab's merge request JSON means for the shared models: pipeline status, changed files, mergeability.

Mostly pure functions over the dictionaries python-gitlab returns, so the provider stays about requests.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from gitlab.exceptions import GitlabError

from ..marker import parse_marker
from ..models import Checks, PullRequest, Status
from .base import FileChange
from .gitlab_client import GitLabClient, status_of

# GitLab's pipeline statuses: created, waiting_for_resource, preparing, pending, running, success,
# failed, canceled, skipped, manual, scheduled. A skipped pipeline ran nothing, so it reports no checks.
_PIPELINE_CHECKS: dict[str, Checks] = {"success": "passing", "failed": "failing", "canceled": "failing"}
_STILL_CHECKING = {"checking", "unchecked", "preparing", "approvals_syncing"}
_DRAFT_PREFIX = re.compile(r"^\s*(?:\[draft\]|\(draft\)|draft:|draft\s*-|\[wip\]|wip:)\s*", re.IGNORECASE)


def pipeline_checks(status: str | None) -> Checks:
    """One word for a pipeline: no pipeline (or a skipped one) is "none", anything unfinished "pending"."""
    if not status or status == "skipped":
        return "none"
    return _PIPELINE_CHECKS.get(status, "pending")


def mr_status(state: str | None) -> Status:
    """GitLab's opened/locked/merged/closed as the project's open/merged/closed."""
    return "merged" if state == "merged" else "closed" if state == "closed" else "open"


def utc(moment: str | None) -> str | None:
    """GitLab's `2026-02-16T03:00:00.000Z` (or with an offset) as `2026-02-16T03:00:00Z`."""
    if not moment:
        return None
    try:
        parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return moment
    aware = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def draft_title(title: str, draft: bool) -> str:
    """The title to send: GitLab marks a merge request as draft by a `Draft:` prefix."""
    return f"Draft: {title}" if draft and not _DRAFT_PREFIX.match(title) else title


def plain_title(title: str, draft: bool) -> str:
    """The title without GitLab's draft prefix (the model says `draft` on its own)."""
    return _DRAFT_PREFIX.sub("", title, count=1) if draft else title


def label_names(labels: Iterable[Any] | None) -> list[str]:
    """Label names, whether GitLab sent plain names or label objects (`with_labels_details`)."""
    return sorted(
        {str(label.get("name")) if isinstance(label, Mapping) else str(label) for label in labels or []}
    )


def diff_counts(diff: str) -> tuple[int, int]:
    """(added, deleted) lines of one file's diff text (GitLab leaves out the ---/+++ header)."""
    lines = diff.splitlines()
    if len(lines) >= 2 and lines[0].startswith("--- ") and lines[1].startswith("+++ "):
        lines = lines[2:]  # a header, when a server does include it
    added = sum(1 for line in lines if line.startswith("+"))
    deleted = sum(1 for line in lines if line.startswith("-"))
    return added, deleted


def file_changes(diffs: Iterable[Mapping[str, Any]]) -> tuple[list[FileChange], list[str]]:
    """FileChanges of GitLab diff entries (a rename also removes its old path), and notes on diffs
    GitLab did not send (too large or collapsed): those count as binary, their size cannot be judged."""
    files: list[FileChange] = []
    notes: list[str] = []
    for entry in diffs:
        new_path = str(entry.get("new_path") or entry.get("old_path") or "")
        text = str(entry.get("diff") or "")
        binary = text.startswith("Binary files ") or (
            not text and bool(entry.get("too_large") or entry.get("collapsed"))
        )
        if binary and not text.startswith("Binary files "):
            notes.append(f"GitLab did not send the diff of {new_path} (too large)")
        added, deleted = (0, 0) if binary else diff_counts(text)
        if entry.get("deleted_file"):
            files.append(FileChange(str(entry.get("old_path") or new_path), added, deleted, binary))
            continue
        files.append(FileChange(new_path, added, deleted, binary))
        if entry.get("renamed_file") and entry.get("old_path") and entry.get("old_path") != new_path:
            files.append(FileChange(str(entry["old_path"])))
    return files, notes


def mergeability(mr: Mapping[str, Any]) -> tuple[bool | None, str | None]:
    """Whether GitLab would merge it now (None: still checking), and why not, from
    `detailed_merge_status` (GitLab 15.6+) or the older `merge_status` and `has_conflicts`."""
    detailed = mr.get("detailed_merge_status")
    if detailed:
        if detailed == "mergeable":
            return True, None
        if detailed in _STILL_CHECKING:
            return None, f"GitLab is still checking whether it can merge ({detailed})"
        return False, f"GitLab's merge status is {detailed}"
    if mr.get("has_conflicts"):
        return False, "GitLab reports merge conflicts"
    legacy = mr.get("merge_status")
    if legacy == "can_be_merged":
        return True, None
    if legacy == "cannot_be_merged":
        return False, "GitLab says it cannot be merged"
    return None, f"GitLab is still checking whether it can merge ({legacy or 'unknown'})"


def pull_request(repo_name: str, mr: Mapping[str, Any], checks: Checks, web_url: str) -> PullRequest:
    """The shared model of one merge request (`web_url`: where it is when GitLab did not say)."""
    signature, finding_id = parse_marker(mr.get("description"))
    draft = bool(mr.get("draft", mr.get("work_in_progress", False)))
    return PullRequest(
        repo=repo_name,
        number=int(mr["iid"]),
        title=plain_title(str(mr.get("title") or ""), draft),
        status=mr_status(mr.get("state")),
        draft=draft,
        checks=checks,
        signature=signature,
        finding_id=finding_id,
        url=str(mr.get("web_url") or web_url),
        head=str(mr.get("source_branch") or ""),
        base=str(mr.get("target_branch") or ""),
        labels=label_names(mr.get("labels")),
        created_at=utc(mr.get("created_at")) or "",
        updated_at=utc(mr.get("updated_at")) or "",
        merged_at=utc(mr.get("merged_at")),
    )


def merged_sha(mr: Mapping[str, Any]) -> str | None:
    """The default branch's new head after a merge: the merge commit, else the squash commit."""
    if mr.get("state") != "merged":
        return None
    return mr.get("merge_commit_sha") or mr.get("squash_commit_sha") or None


def read_diffs(
    client: GitLabClient, mrs_path: str, number: int, limit: int
) -> tuple[list[dict[str, Any]], bool]:
    """Up to `limit` diff entries of a merge request, and whether there were more: GET …/diffs
    (GitLab 15.7+), or …/changes where that endpoint does not exist yet."""
    try:
        listed = client.http_list(f"{mrs_path}/{number}/diffs", iterator=True, per_page=min(limit, 100))
        entries = [dict(e) for _, e in zip(range(limit + 1), listed, strict=False)]
    except GitlabError as exc:
        if status_of(exc) != 404:
            raise
        answer = client.http_get(f"{mrs_path}/{number}/changes")
        changes = answer.get("changes", []) if isinstance(answer, dict) else []
        entries = [dict(e) for e in changes[: limit + 1]]
        if isinstance(answer, dict) and answer.get("overflow"):
            return entries[:limit], True
    return entries[:limit], len(entries) > limit


def head_checks(project: Any, mr: Mapping[str, Any]) -> Checks:
    """The pipeline of exactly the head commit: the MR's head_pipeline, else the newest for its sha."""
    head = mr.get("sha")
    pipeline = mr.get("head_pipeline")
    if isinstance(pipeline, dict) and head and pipeline.get("sha") == head:
        return pipeline_checks(pipeline.get("status"))
    if not head:
        return "none"
    found = project.pipelines.list(sha=head, order_by="id", sort="desc", per_page=1, get_all=False)
    return pipeline_checks(found[0].attributes.get("status") if found else None)


def same_note(notes: Any, body: str) -> Any | None:
    """A note of the merge request with exactly `body` (a comment that went through before a failure)."""
    return next((n for n in notes.list(iterator=True, per_page=100) if n.body == body), None)
